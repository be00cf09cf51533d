"""Model conversion tools: read weights without their frameworks, write ONNX, cache the result.

``torch_pickle`` reads PyTorch state dicts without torch, ``protobuf`` + ``tf_graph`` read
TensorFlow graphs (frozen ``.pb`` and TF.js) without TensorFlow, ``tf_onnx`` converts those
graphs op by op (``quantization``: static int8), ``onnx_writer`` writes ONNX without the
``onnx`` package, and ``cache`` keeps each converted model on disk. The analyzers build their
models with these; nothing here knows about analyzers.
"""
