from trioapi import TrioAPI

app = TrioAPI()


@app.get("/")
async def root():
    return {"message": "Hello World"}
