"""Flush subnormal floats to zero inside the engine's hot kernels.

Why: ahead of a wavefront an explicit scheme leaves values that decay geometrically from
element to element, so a float32 wavefield holds many subnormal numbers (below 1.2e-38;
17 % of the points at step 300 of the 100 x 100 benchmark), and the sensitivity
accumulation multiplies two such fields. Arithmetic on subnormals takes a slow path in
the CPU: the fused stiffness + sensitivity kernel ran 1.5x slower on a real wavefield
than on one without them. Values 30 orders of magnitude below the peak carry no
information for waves, so the kernels set the x86 MXCSR flags FTZ (flush results) and
DAZ (treat inputs as zero) while they run, and restore the caller's flags afterwards
(numpy and scipy in the same thread keep IEEE behaviour).

On other architectures the two functions do nothing (the kernels are still correct,
only slower on subnormals).
"""
from __future__ import annotations

import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["flush_subnormals", "restore_fpenv"]

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
_FTZ_DAZ = (1 << 15) | (1 << 6)  # MXCSR bits: flush-to-zero, denormals-are-zero


def _mxcsr_call(builder, name: str, ptr) -> None:
    i8p = ir.IntType(8).as_pointer()
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p]), name)
    builder.call(fn, [builder.bitcast(ptr, i8p)])


@intrinsic
def flush_subnormals(typingctx):
    """Set FTZ and DAZ; return the previous control word for :func:`restore_fpenv`."""

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        if not _X86:
            return ir.Constant(i32, 0)
        slot = cgutils.alloca_once(builder, i32)
        _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
        old = builder.load(slot)
        builder.store(builder.or_(old, ir.Constant(i32, _FTZ_DAZ)), slot)
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return old

    return types.uint32(), codegen


@intrinsic
def restore_fpenv(typingctx, old):
    """Put back the control word returned by :func:`flush_subnormals`."""

    def codegen(context, builder, signature, args):
        if _X86:
            slot = cgutils.alloca_once(builder, ir.IntType(32))
            builder.store(args[0], slot)
            _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()

    return types.void(old), codegen
