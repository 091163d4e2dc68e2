"""Our sender's nonces, allocated locally.

Asking the node for a nonce per transaction costs a round trip and races: two sends in
flight would both be told the same "pending" count. So nonces are handed out here, in
the same synchronous step that signs, and the book is reconciled with the chain:
- a nonce the node refused outright is `release`d and reused first, so no gap stalls
  the transactions behind it;
- on every new block with nothing in flight, and at once after "nonce too low", the
  node's pending count is authoritative (`resync`): another process using the key, a
  dropped transaction or a reorg cannot leave the book wrong for long.
"""

from __future__ import annotations


class NonceBook:
    def __init__(self, next_nonce: int) -> None:
        self._next = next_nonce
        self._free: set[int] = set()
        self.taken = 0  # how many nonces were handed out: tells a stale count from a fresh one

    @property
    def next(self) -> int:
        return min(self._free) if self._free else self._next

    def take(self) -> int:
        """The nonce for the transaction being signed now."""
        self.taken += 1
        if self._free:
            nonce = min(self._free)
            self._free.discard(nonce)
            return nonce
        nonce = self._next
        self._next += 1
        return nonce

    def release(self, nonce: int) -> None:
        """The node refused the transaction with this nonce: it is free again."""
        if nonce == self._next - 1:
            self._next = nonce
            while self._next - 1 in self._free:  # fold trailing free nonces back in
                self._next -= 1
                self._free.discard(self._next)
        elif nonce < self._next:
            self._free.add(nonce)

    def resync(self, chain_next: int, in_flight: set[int]) -> None:
        """`chain_next`: the node's pending transaction count for our address."""
        if not in_flight:
            self._next, self._free = chain_next, set()
            return
        self._free = {n for n in self._free if n >= chain_next and n not in in_flight}
        self._next = max(self._next, chain_next)
