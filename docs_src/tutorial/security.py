import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
import trio
from pydantic import BaseModel

from trioapi import Depends, HTTPException, TrioAPI, status
from trioapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

SECRET_KEY = "change me: python -c 'import secrets; print(secrets.token_hex(32))'"
ALGORITHM = "HS256"
TOKEN_LIFETIME = timedelta(minutes=30)


def hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)


async def verify_password(password: str, salt: bytes, expected: bytes) -> bool:
    # scrypt takes tens of milliseconds of CPU: run it in a worker thread so
    # the event loop goes on serving other requests meanwhile.
    digest = await trio.to_thread.run_sync(hash_password, password, salt)
    return hmac.compare_digest(digest, expected)


class User(BaseModel):
    username: str
    full_name: str


users = {"alice": {"full_name": "Alice Liddell", "salt": b"alice-salt"}}
users["alice"]["hash"] = hash_password("wonderland", b"alice-salt")

app = TrioAPI()
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")


@app.post("/token")
async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()]):
    record = users.get(form.username)
    if record is None or not await verify_password(form.password, record["salt"], record["hash"]):
        raise HTTPException(status_code=400, detail="Incorrect username or password")
    expires = datetime.now(UTC) + TOKEN_LIFETIME
    token = jwt.encode({"sub": form.username, "exp": expires}, SECRET_KEY, algorithm=ALGORITHM)
    return {"access_token": token, "token_type": "bearer"}


async def current_user(token: Annotated[str, Depends(oauth2_scheme)]) -> User:
    unauthorized = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )
    try:
        username = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])["sub"]
    except (jwt.InvalidTokenError, KeyError):
        raise unauthorized from None
    if username not in users:
        raise unauthorized
    return User(username=username, full_name=users[username]["full_name"])


@app.get("/users/me")
async def read_me(user: Annotated[User, Depends(current_user)]) -> User:
    return user
