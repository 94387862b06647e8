import trio

from trioapi import APIRouter, Depends, HTTPException

from ..dependencies import get_token_header

router = APIRouter(
    prefix="/items",
    tags=["items"],
    dependencies=[Depends(get_token_header)],
    responses={404: {"description": "Not found"}},
    timeout=5,  # every route of this router: 504 after 5 s
)

fake_items = {"plumbus": {"name": "Plumbus"}, "gun": {"name": "Portal Gun"}}


@router.get("/")
async def read_items():
    return fake_items


@router.get("/{item_id}")
async def read_item(item_id: str):
    if item_id not in fake_items:
        raise HTTPException(status_code=404, detail="Item not found")
    return {"name": fake_items[item_id]["name"], "item_id": item_id}


@router.get("/{item_id}/report", timeout=30)  # the route's own deadline wins
async def item_report(item_id: str, hours: float = 0):
    await trio.sleep(hours * 3600)
    return {"item_id": item_id, "report": "ready"}
