"""People: ``/people`` (everyone found, a face each), a person's page with their photos, the
face thumbnails, and naming and merging (POST only, so the access guard's same-origin and
token rules apply, as for re-analyse). Shown only where the ``people`` analyzer is on."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from eventlens.face_people import PeopleError, PeopleStore, Person
from eventlens.imaging import ImageRejected
from eventlens.web.deps import (
    Images,
    OptionalPeople,
    Settings,
    Store,
    Templates,
    WebSettings,
    known_environment,
)
from eventlens.web.images import LocalImageSource, PathRefused
from eventlens.web.routers.pages import record_url

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

MAX_PHOTOS = 200  # on a person's page; the gallery's person filter pages through all of them


def person_url(env: str, person: str) -> str:
    return f"/people/{quote(env, safe='')}/{quote(person, safe='')}"


def face_url(env: str, person: Person) -> str | None:
    if person.cover_key is None or person.cover_box is None:
        return None
    # the cover photo in the URL: after a merge or re-analysis the picture is another one
    version = urlencode({"v": person.cover_key})
    return f"{person_url(env, person.id)}/face?{version}"


def _people_on(people: PeopleStore | None, settings: WebSettings, env: str) -> PeopleStore | None:
    return people if people is not None and env in settings.people_environments else None


def _writable(people: PeopleStore | None, settings: WebSettings, env: str) -> PeopleStore:
    index = _people_on(people, settings, env)
    if index is None:
        raise HTTPException(404, f"people are off in {env} (EVENTLENS_PEOPLE=on turns them on)")
    return index


@router.get("/people")
def people_page(
    request: Request,
    settings: Settings,
    people: OptionalPeople,
    images: Images,
    templates: Templates,
    env: str | None = None,
    named: str | None = None,
) -> Response:
    env = known_environment(settings, env)
    index = _people_on(people, settings, env)
    everyone = index.people(env) if index is not None else []
    cards = [{"person": p, "url": person_url(env, p.id),
              "face": face_url(env, p) if isinstance(images, LocalImageSource) else None}
             for p in everyone]  # fmt: skip
    return templates.TemplateResponse(
        request,
        "people.html",
        {"page": "people", "env": env, "enabled": index is not None, "cards": cards,
         "named": named},
    )  # fmt: skip


@router.get("/people/{env}/{person}")
def person_page(
    request: Request,
    store: Store,
    settings: Settings,
    people: OptionalPeople,
    images: Images,
    templates: Templates,
    env: str,
    person: str,
    merged: int | None = None,
    named: bool = False,
) -> Response:
    env = known_environment(settings, env)
    index = _writable(people, settings, env)
    try:
        found = index.find(env, person)
    except PeopleError as exc:
        raise HTTPException(404, str(exc)) from exc
    if found.id != person:  # a name, or the id of someone merged into them since
        return RedirectResponse(person_url(env, found.id), status_code=307)
    keys = index.photos_of(env, found.id)
    records = [r for key in keys[:MAX_PHOTOS] if (r := store.get(env, key)) is not None]
    gallery = f"/?{urlencode({'env': env, 'person': found.id})}"
    cards = [
        {"record": r, "thumb": images.thumbnail_url(r) if images else None,
         "url": record_url(r)}
        for r in records
    ]  # fmt: skip
    others = [p for p in index.people(env) if p.id != found.id]
    return templates.TemplateResponse(
        request,
        "person.html",
        {
            "page": "people", "env": env, "person": found, "cards": cards,
            "more": max(0, len(keys) - len(records)), "gallery_url": gallery,
            "face": face_url(env, found) if isinstance(images, LocalImageSource) else None,
            "others": others, "merged": merged, "named": named,
        },
    )  # fmt: skip


@router.get("/people/{env}/{person}/face")
def person_face(
    settings: Settings, people: OptionalPeople, images: Images, env: str, person: str
) -> Response:
    """The person's clearest face (the most confident detection), cropped from its photo."""
    env = known_environment(settings, env)
    index = _writable(people, settings, env)
    if not isinstance(images, LocalImageSource):
        raise HTTPException(404, "no local image folder configured")
    try:
        found = index.find(env, person)
    except PeopleError as exc:
        raise HTTPException(404, str(exc)) from exc
    if found.cover_key is None or found.cover_box is None:
        raise HTTPException(404, f"no face of {found.id} to show")
    try:
        data = images.face(found.cover_key, found.cover_box)
    except PathRefused as exc:
        raise HTTPException(403, str(exc)) from exc
    except FileNotFoundError as exc:
        raise HTTPException(404, f"the photo of {found.id}'s face is gone") from exc
    except ImageRejected as exc:
        raise HTTPException(415, str(exc)) from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=300"})


async def _form(request: Request) -> dict[str, list[str]]:
    return parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)


@router.post("/people/name")
async def name_form(request: Request, settings: Settings, people: OptionalPeople) -> Response:
    """A person card's or page's name field: a form with ``env``, ``person`` and ``name``
    (empty: no name)."""
    form = await _form(request)
    env = known_environment(settings, form.get("env", [""])[0])
    index = _writable(people, settings, env)
    try:
        named = index.name(env, form.get("person", [""])[0], form.get("name", [""])[0])
    except PeopleError as exc:
        raise HTTPException(409, str(exc)) from exc
    back = form.get("back", [""])[0]
    if back == "list":
        return RedirectResponse(
            f"/people?{urlencode({'env': env, 'named': named.id})}", status_code=303
        )
    return RedirectResponse(person_url(env, named.id) + "?named=1", status_code=303)


@router.post("/people/merge")
async def merge_form(request: Request, settings: Settings, people: OptionalPeople) -> Response:
    """The people page's "Merge selected" (``person`` repeated: the first one stays) and a
    person page's "Merge into this person" (``into`` and ``person``)."""
    form = await _form(request)
    env = known_environment(settings, form.get("env", [""])[0])
    index = _writable(people, settings, env)
    chosen = [p for p in dict.fromkeys(form.get("person", [])) if p]
    into = form.get("into", [""])[0] or (chosen[0] if chosen else "")
    others = [p for p in chosen if p != into]
    if not into or not others:
        raise HTTPException(422, "choose at least two people to merge")
    try:
        merged = index.merge(env, into, others)
    except PeopleError as exc:
        raise HTTPException(409, str(exc)) from exc
    return RedirectResponse(person_url(env, merged.id) + f"?merged={len(others)}", status_code=303)
