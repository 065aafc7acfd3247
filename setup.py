"""Build hook for the compiled parts of chipemu (everything else is in pyproject.toml).

Four C extensions, all optional: if one cannot be built (no C compiler), the install still
succeeds and chipemu runs the pure Python/numpy code instead, with identical results,
several times slower.

* ``_chipemu_noc_kernel``: the bookkeeping of the SimPy NoC model
  (``chipemu/noc/_simpy_kernel.c``).
* ``_chipemu_analytic_kernel``: the contention pass of the analytic NoC model
  (``chipemu/noc/_analytic_kernel.c``).
* ``_chipemu_arrays_kernel``: a counting sort for ``chipemu.arrays.stable_order``
  (``chipemu/_arrays_kernel.c``).
* ``_chipemu_mapper_kernel``: the hot loops of the traffic mapper (``mapper/_mapper_kernel.c``,
  ``_mapper_kernel_cores.c``, ``_mapper_kernel_place.c``, ``_mapper_kernel_chips.c``, used
  through ``mapper/kernel.py``): the pin graph's counting sorts, label propagation's
  iterations, refinement's and core filling's loops over pins, the usage counts, the
  core-to-core traffic, the chip-level partition and the placement annealer's moves.

``-ffp-contract=off`` keeps every float operation as written (no fused multiply-add), which
the bit-identity with the Python code needs; the sources refuse ``-ffast-math``.
"""

from setuptools import Extension, setup

_FLAGS = ["-O2", "-ffp-contract=off"]

setup(ext_modules=[
    Extension("_chipemu_noc_kernel", ["chipemu/noc/_simpy_kernel.c"], extra_compile_args=_FLAGS, optional=True),
    Extension("_chipemu_analytic_kernel", ["chipemu/noc/_analytic_kernel.c"],
              extra_compile_args=_FLAGS + ["-pthread"], extra_link_args=["-pthread"], optional=True),
    Extension("_chipemu_arrays_kernel", ["chipemu/_arrays_kernel.c"], extra_compile_args=_FLAGS, optional=True),
    Extension("_chipemu_mapper_kernel", ["mapper/_mapper_kernel.c", "mapper/_mapper_kernel_cores.c",
                                         "mapper/_mapper_kernel_place.c", "mapper/_mapper_kernel_chips.c"],
              depends=["mapper/_mapper_kernel.h"], extra_compile_args=_FLAGS, optional=True),
])
