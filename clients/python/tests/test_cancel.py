from __future__ import annotations

from brain_net_sandbox import SandboxError

from .support import ServiceTestCase


class CancelTest(ServiceTestCase):
    def test_cancels_a_running_endless_loop_once(self) -> None:
        submission = self.sandbox.submit("while True:\n    pass", timeout=60)
        self.until(submission.execution_id, lambda execution: execution.status == "running")

        cancelled = self.sandbox.cancel(submission.execution_id)

        self.assertEqual(cancelled.status, "cancelled")
        self.assertEqual(self.sandbox.get(submission.execution_id).status, "cancelled")
        with self.assertRaises(SandboxError) as raised:
            self.sandbox.cancel(submission.execution_id)
        self.assertEqual(raised.exception.status, 409)
        self.assertEqual(raised.exception.code, "EXECUTION_ALREADY_FINISHED")
