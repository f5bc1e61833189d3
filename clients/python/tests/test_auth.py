from __future__ import annotations

import unittest
import uuid

from brain_net_sandbox import Sandbox, SandboxError

from .support import API_KEY, service_url


@unittest.skipUnless(API_KEY, "SANDBOX_API_KEY is not set: the service checks no keys")
class AuthenticationTest(unittest.TestCase):
    def assert_unauthenticated(self, error: SandboxError) -> None:
        self.assertEqual(error.status, 401)
        self.assertEqual(error.code, "UNAUTHENTICATED")

    def test_a_call_without_a_key_is_refused(self) -> None:
        with self.assertRaises(SandboxError) as raised:
            Sandbox(service_url()).execute("print(1)")

        self.assert_unauthenticated(raised.exception)

    def test_a_wrong_key_is_refused(self) -> None:
        with self.assertRaises(SandboxError) as raised:
            Sandbox(service_url(), f"not-{API_KEY}").runtimes()

        self.assert_unauthenticated(raised.exception)

    def test_a_stream_without_a_key_is_refused_before_it_starts(self) -> None:
        events = Sandbox(service_url()).stream(str(uuid.uuid4()))

        with self.assertRaises(SandboxError) as raised:
            next(events)

        self.assert_unauthenticated(raised.exception)
