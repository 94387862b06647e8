from trioapi import TrioAPI

from .routers import items, users

app = TrioAPI()
app.include_router(users.router)
app.include_router(items.router)


@app.get("/")
async def root():
    return {"message": "Hello Bigger Applications!"}
