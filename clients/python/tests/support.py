"""The service the tests talk to: SANDBOX_URL, with SANDBOX_API_KEY when it checks keys."""

from __future__ import annotations

import os
import time
import unittest
from collections.abc import Callable

from brain_net_sandbox import Execution, Sandbox

#: The key of a caller with the scopes `execute` and `read`; None when auth is off.
API_KEY = os.environ.get("SANDBOX_API_KEY") or None


def service_url() -> str:
    url = os.environ.get("SANDBOX_URL")
    if not url:
        # Failing, not skipping: a suite that skipped everything would pass in CI.
        raise RuntimeError("SANDBOX_URL is not set: these tests need a running service")
    return url


class ServiceTestCase(unittest.TestCase):
    """A test with `self.sandbox`, a client of the service holding the key if there is one."""

    sandbox: Sandbox

    @classmethod
    def setUpClass(cls) -> None:
        cls.sandbox = Sandbox(service_url(), API_KEY)

    def until(
        self, execution_id: str, condition: Callable[[Execution], bool], timeout: float = 60.0
    ) -> Execution:
        """The execution once `condition` holds for it; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not condition(execution := self.sandbox.get(execution_id)):
            if time.monotonic() > deadline:
                self.fail(f"execution {execution_id} still {execution.status} after {timeout} s")
            time.sleep(0.1)
        return execution
