"""URLs: a web page or PDF fetched over http(s) into a copy the index reads like a file.

`fetch` gets a URL with httpx (timeouts, at most MAX_REDIRECTS redirects, MAX_FETCH_BYTES, a
User-Agent naming rag), takes HTML or PDF by the content type the server gives, and writes the
bytes with their URL and fetch time under the index folder (`fetched/<sha256>/`), so the index
cites the URL and an ask never fetches again (`rag index URL` again does). Only http and https
are fetched, and a host that resolves to a loopback, private, link-local, multicast or reserved
address is refused, on the first request and on every redirect, unless private addresses are
allowed (Settings.allow_private_urls). The address is checked when resolved here; a name whose
DNS answer changes between this check and the connection (rebinding) is not caught.

The only module that imports httpx, and only when fetching. Not here: reading what was fetched
(rag.documents.sources).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from rag import __version__
from rag.errors import SourceError

MAX_REDIRECTS = 5
MAX_FETCH_BYTES = 10 * 2**20
TIMEOUT_SECONDS = 15.0
USER_AGENT = f"rag/{__version__} (local question answering over news articles)"
KINDS = {"text/html": ".html", "application/xhtml+xml": ".html", "application/pdf": ".pdf"}
SOURCE_RECORD = "source.json"


@dataclass(frozen=True)
class Fetched:
    url: str  # as given
    fetched_at: str  # ISO 8601, UTC


def fetch(
    url: str,
    folder: Path,
    *,
    allow_private: bool = False,
    timeout: float = TIMEOUT_SECONDS,
    max_bytes: int = MAX_FETCH_BYTES,
) -> Path:
    """Fetch `url` into `folder`; the path of the copy. SourceError (one line) when the URL is
    not http(s), its address is refused, or the server fails, is slow, or sends too much or
    something that is neither HTML nor PDF."""
    import httpx

    current = url
    try:
        with httpx.Client(
            timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        ) as client:
            for _ in range(MAX_REDIRECTS + 1):
                _check_address(current, allow_private)
                with client.stream("GET", current) as response:
                    if response.is_redirect:
                        current = urljoin(current, response.headers.get("location", ""))
                        continue
                    if response.status_code >= 400:
                        raise SourceError(f"{url}: the server answered HTTP {response.status_code}")
                    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    suffix = KINDS.get(kind)
                    if suffix is None:
                        raise SourceError(f"{url}: {kind or 'no content type'}, not HTML or PDF")
                    data = _body(response, url, max_bytes)
                    break
            else:
                raise SourceError(f"{url}: more than {MAX_REDIRECTS} redirects")
    except httpx.TimeoutException:
        raise SourceError(f"{url}: no answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"{url}: cannot fetch ({type(exc).__name__}: {exc})") from None
    return _keep(url, data, suffix, folder)


def fetched_record(path: Path) -> Fetched | None:
    """The URL and time a fetched copy came from, or None for a file the user gave."""
    try:
        raw = json.loads((path.parent / SOURCE_RECORD).read_text(encoding="utf-8"))
        return Fetched(str(raw["url"]), str(raw["fetched_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _check_address(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"{url}: only http and https URLs can be indexed")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise SourceError(f"{url}: cannot resolve {parts.hostname} ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global or address.is_multicast:
            raise SourceError(
                f"{url}: {parts.hostname} is at {address}, a private or reserved address; "
                "refused (--allow-private-urls or RAG_ALLOW_PRIVATE_URLS=1 to allow)"
            )


def _body(response: object, url: str, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():  # type: ignore[attr-defined]
        size += len(chunk)
        if size > max_bytes:
            raise SourceError(f"{url}: more than {max_bytes / 2**20:.1f} MiB; refused")
        chunks.append(chunk)
    return b"".join(chunks)


def _keep(url: str, data: bytes, suffix: str, folder: Path) -> Path:
    """Write the copy where nothing else is: a folder named by its content's hash."""
    stem = re.sub(r"[^\w.-]+", "-", Path(urlsplit(url).path).stem or urlsplit(url).hostname or "")
    stem = stem.strip("-.") or "page"
    where = folder / hashlib.sha256(url.encode() + b"\0" + data).hexdigest()[:16]
    try:
        where.mkdir(parents=True, exist_ok=True)
        path = where / f"{stem[:80]}{suffix}"
        path.write_bytes(data)
        record = {"url": url, "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        (where / SOURCE_RECORD).write_text(json.dumps(record), encoding="utf-8")
    except OSError as exc:
        raise SourceError(
            f"{url}: cannot keep the fetched copy in {folder} ({exc.strerror})"
        ) from None
    return path
