"""docs/security.md: the request settings as one ``Limits`` value, beside the keywords."""

from trioapi import APIRouter, Limits, Request, TrioAPI

# One value, given wherever the keywords are: the app, a router, an
# include_router() call, a route. Settings left out are the enclosing level's.
UPLOADS = Limits(max_body_size=64 * 1024 * 1024, body_timeout=300, max_form_files=20)

app = TrioAPI(timeout=30)
uploads = APIRouter(limits=UPLOADS)


@uploads.post("/files")
async def count_files(request: Request) -> dict[str, int]:
    form = await request.form()
    return {"files": len(form.getlist("file"))}


# The same as APIRouter(max_body_size=..., body_timeout=300, max_form_files=20);
# a keyword given beside limits= replaces that one setting.
app.include_router(uploads, prefix="/uploads")
