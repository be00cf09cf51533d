"""Pictures from the local bucket folder: thumbnails, and the original file of a record."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse, Response

from eventlens.imaging import ImageRejected
from eventlens.results.record import Record
from eventlens.web.deps import Images, PathEnvironment, Store
from eventlens.web.images import LocalImageSource, PathRefused

router = APIRouter(include_in_schema=False)

#: what a browser shows by itself, by extension; anything else gets the thumbnail
BROWSER_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
    ".gif": "image/gif", ".bmp": "image/bmp", ".mp4": "video/mp4", ".m4v": "video/mp4",
    ".webm": "video/webm", ".mov": "video/quicktime",
}  # fmt: skip


def original_url(record: Record) -> str:
    return f"/original/{quote(record.environment, safe='')}/{quote(record.filename)}"


@router.get("/thumb")
def thumbnail(images: Images, key: str) -> Response:
    if not isinstance(images, LocalImageSource):
        raise HTTPException(404, "no local image folder configured")
    try:
        data = images.thumbnail(key)
    except PathRefused as exc:
        raise HTTPException(403, str(exc)) from exc
    except FileNotFoundError as exc:
        raise HTTPException(404, f"no such image: {key!r}") from exc
    except ImageRejected as exc:
        raise HTTPException(415, str(exc)) from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=300"})


@router.get("/original/{env}/{key:path}")
def original(store: Store, images: Images, env: PathEnvironment, key: str) -> Response:
    """The file of a stored record (only those: never an arbitrary path below the root), with
    a type from a fixed list by extension; other formats get the thumbnail."""
    if not isinstance(images, LocalImageSource):
        raise HTTPException(404, "no local image folder configured")
    if store.get(env, key) is None:
        raise HTTPException(404, f"no record for {key!r} in {env}")
    try:
        path = images.resolve(key)
    except PathRefused as exc:
        raise HTTPException(403, str(exc)) from exc
    if not path.is_file():
        raise HTTPException(404, f"the file of {key!r} is gone")
    media_type = BROWSER_TYPES.get(path.suffix.lower())
    if media_type is None:
        return RedirectResponse(f"/thumb?key={quote(key, safe='')}", status_code=307)
    return FileResponse(
        path, media_type=media_type, content_disposition_type="inline",
        headers={
            "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )  # fmt: skip
