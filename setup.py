"""Build hook for the one compiled part of chipemu (everything else is in pyproject.toml).

``_chipemu_noc_kernel`` is the compiled bookkeeping of the SimPy NoC model
(``chipemu/noc/_simpy_kernel.c``).  It is optional: if it cannot be built (no C compiler),
the install still succeeds and the SimPy NoC runs its pure-Python bookkeeping, with
identical results, several times slower.  ``-ffp-contract=off`` keeps every float
operation as written (no fused multiply-add), which the bit-identity with the Python
model needs.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("_chipemu_noc_kernel", ["chipemu/noc/_simpy_kernel.c"],
                             extra_compile_args=["-O2", "-ffp-contract=off"], optional=True)])
