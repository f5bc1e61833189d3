from __future__ import annotations

import uuid

from brain_net_sandbox import Sandbox

from .support import API_KEY, ServiceTestCase, service_url


class ExecuteTest(ServiceTestCase):
    def test_returns_the_output_and_the_variables_after_the_run(self) -> None:
        result = self.sandbox.execute(
            "total = sum(input_data['values'])\nprint(f'total {total}')",
            input_data={"values": [1, 2, 3]},
        )

        self.assertEqual(result.status, "completed")
        self.assertEqual(result.output, "total 6\n")
        self.assertEqual(result.stderr, "")
        self.assertEqual(result.exit_code, 0)
        self.assertIsNone(result.error)
        variables = result.debug_info.variables_after or {}
        self.assertEqual(variables["total"].type, "int")
        self.assertEqual(variables["total"].value, 6)
        self.assertEqual(result.raw["execution_id"], result.execution_id)

    def test_reports_an_exception_at_the_users_line(self) -> None:
        result = self.sandbox.execute("x = 1\ny = x / 0")

        self.assertEqual(result.status, "failed")
        self.assertEqual(result.exit_code, 1)
        self.assertEqual(result.error, "ZeroDivisionError: division by zero (line 2)")
        self.assertIn("Traceback", result.stderr)
        [exception] = result.debug_info.exceptions
        self.assertEqual(exception.type, "ZeroDivisionError")
        self.assertEqual(exception.line, 2)
        self.assertEqual(exception.frames[-1].source, "y = x / 0")

    def test_feeds_stdin_to_input(self) -> None:
        result = self.sandbox.execute(
            "factor = int(input())\nprint(factor * sum(int(n) for n in input().split()))",
            stdin="2\n1 2 3\n",
        )

        self.assertEqual(result.output, "12\n")

    def test_polls_for_the_result_of_the_same_execution_when_the_wait_is_cut_short(self) -> None:
        impatient = Sandbox(service_url(), API_KEY, wait_timeout=0.5)
        code = "import time\ntime.sleep(2)\nprint('slept')"
        key = f"test-{uuid.uuid4()}"

        result = impatient.execute(code, idempotency_key=key)

        self.assertEqual(result.status, "completed")
        self.assertEqual(result.output, "slept\n")
        # The key still names that one execution: the code was not submitted twice.
        again = self.sandbox.submit(code, idempotency_key=key)
        self.assertTrue(again.replayed)
        self.assertEqual(again.execution_id, result.execution_id)

    def test_submits_and_gets_the_execution_by_its_id(self) -> None:
        submission = self.sandbox.submit("print('later')")

        self.assertIn(submission.status, {"queued", "running"})
        self.assertFalse(submission.replayed)
        self.assertEqual(
            self.sandbox.get(submission.execution_id).execution_id, submission.execution_id
        )
        finished = self.until(submission.execution_id, lambda execution: execution.finished)
        self.assertEqual(finished.status, "completed")
        self.assertEqual(finished.output, "later\n")
