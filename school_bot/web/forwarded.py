"""Who a request came from: the peer, or behind a trusted proxy, its X-Forwarded-For.

Each proxy appends the address it was called from to `X-Forwarded-For`, so the header
is read from the right: the entries that are trusted proxies themselves are skipped and
the first one that is not is the client. Whatever lies left of it was written by the
client and is never read, so a forged entry cannot choose the address. The header is
believed only when the peer is in TRUSTED_PROXIES; an entry on the walk that is not an
address (a malformed header) leaves the peer as the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from school_bot.shared.settings import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_address(peer: str | None, forwarded_for: Iterable[str],
                   trusted: Sequence[Network]) -> str | None:
    """The client's address: `peer` unless it is a trusted proxy that says otherwise.

    `forwarded_for` holds the X-Forwarded-For header lines in the order received.
    """
    if not trusted or not _is_trusted(_address(peer), trusted):
        return peer
    hops = [hop.strip() for line in forwarded_for for hop in line.split(",")]
    if not hops:
        return peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return peer
        if not _is_trusted(address, trusted):
            return str(address)
    return str(_address(hops[0]))  # every hop is a proxy of ours: the first one asked


def _address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address | None, trusted: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in trusted)
