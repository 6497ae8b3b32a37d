"""The dev stack: everything that stands in for the outside world, apart from the product.

Simulators (the virtual KTP-el card and SAM behind vpcd, the Dukcapil simulator, the synthetic
population), the virtual stack (pcscd with the virtual readers, managed processes), the demo and
the no-storage canary run. Tests, benchmarks and `ktp-gateway demo` / `canary` use it; nothing in
`ktp_gateway/` imports it (tests/test_layout.py checks).
"""
