from __future__ import annotations

import uuid

from brain_net_sandbox import SandboxError

from .support import ServiceTestCase


class ErrorsTest(ServiceTestCase):
    def test_an_invalid_request_raises_a_400_naming_the_field(self) -> None:
        with self.assertRaises(SandboxError) as raised:
            self.sandbox.execute("print(1)", timeout=0)

        error = raised.exception
        self.assertEqual(error.status, 400)
        self.assertEqual(error.code, "VALIDATION_FAILED")
        self.assertEqual(error.title, "Bad Request")
        self.assertIn("timeout", error.detail or "")
        self.assertEqual([problem["field"] for problem in error.errors], ["timeout"])
        self.assertTrue(error.request_id)

    def test_an_unknown_runtime_raises_a_400_listing_the_known_ones(self) -> None:
        with self.assertRaises(SandboxError) as raised:
            self.sandbox.submit("print(1)", runtime="python-2.7")

        self.assertEqual(raised.exception.status, 400)
        self.assertEqual(raised.exception.code, "UNKNOWN_RUNTIME")
        self.assertIn("python-3.11", raised.exception.detail or "")

    def test_an_unknown_execution_raises_a_404(self) -> None:
        with self.assertRaises(SandboxError) as raised:
            self.sandbox.get(str(uuid.uuid4()))

        self.assertEqual(raised.exception.status, 404)
        self.assertEqual(raised.exception.code, "EXECUTION_NOT_FOUND")
