from __future__ import annotations

from .support import ServiceTestCase


class RuntimesTest(ServiceTestCase):
    def test_lists_the_default_python_3_11_runtime_with_its_packages(self) -> None:
        runtimes = self.sandbox.runtimes()

        self.assertEqual(runtimes.default, "python-3.11")
        self.assertIn("python-3.11", runtimes.names)
        [runtime] = [item for item in runtimes.items if item.name == "python-3.11"]
        self.assertTrue(runtime.default)
        self.assertIsNone(runtime.error)
        self.assertTrue((runtime.python_version or "").startswith("3.11."))
        self.assertIn("numpy", {package.name for package in runtime.packages or ()})
