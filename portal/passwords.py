"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask


class Passwords:
    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        # A real hash to verify against when the account does not exist, so an unknown
        # e-mail takes as long as a wrong password.
        self._dummy = self._hasher.hash("not-a-password")
        self._costs: tuple[int, int] | None = None

    def configure(self, time_cost: int, memory_cost: int) -> None:
        if self._costs == (time_cost, memory_cost):
            return  # another app of the same process, with the same costs
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)
        self._dummy = self._hasher.hash("not-a-password")
        self._costs = (time_cost, memory_cost)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


passwords = Passwords()


def init_app(app: Flask) -> None:
    passwords.configure(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"])
