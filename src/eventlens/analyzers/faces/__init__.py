"""Face detection (DetectFaces shape): MTCNN on ONNX Runtime, weights from facenet-pytorch."""

from eventlens.analyzers.faces.analyzer import FaceAnalyzer

__all__ = ["FaceAnalyzer"]
