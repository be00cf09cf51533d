"""The eval set's reading of package archives (``collect.tar_members``), on tarballs built here."""

from __future__ import annotations

import gzip
import io
import tarfile

from bench.eval_set.collect import tar_members

JPEG = b"\xff\xd8\xff\xe0 a demo photo \xff\xd9"


def _tarball(gzipped: bool, files: dict[str, bytes], links: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
        for name, target in links.items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return gzip.compress(buffer.getvalue()) if gzipped else buffer.getvalue()


def test_reads_the_wanted_files_of_an_npm_tarball() -> None:
    tgz = _tarball(True, {"package/demo/sample1.jpg": JPEG, "package/README.md": b"# demo"}, {})
    wanted = {"package/demo/sample1.jpg", "package/demo/absent.jpg"}
    assert tar_members(tgz, wanted) == {"package/demo/sample1.jpg": JPEG}


def test_follows_a_link_to_the_file_and_strips_a_leading_dot() -> None:
    tar = _tarball(
        False,
        {"./usr/share/wallpapers/Path/contents/images/2560x1600.jpg": JPEG},
        {"./usr/share/wallpapers/Path/contents/images/1280x1024.jpg": "2560x1600.jpg"},
    )
    name = "usr/share/wallpapers/Path/contents/images/1280x1024.jpg"
    assert tar_members(tar, {name}) == {name: JPEG}
