"""The few array operations the tensor formats need, for numpy arrays and torch tensors alike.

Every function takes and returns arrays of the caller's kind (a torch tensor stays a torch
tensor, on its device), so the same algorithm runs on a CPU with numpy or on a GPU with
torch. torch is imported only when a torch tensor is actually passed.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

import numpy as np

__all__ = ["is_torch", "to_numpy", "like", "asfloat", "is_complex", "herm", "eps", "svd", "eigh", "qr", "norm",
           "mode_dot", "unfold", "fix_signs", "zeros_like_shape", "concatenate", "kron", "eye"]


def is_torch(x: Any) -> bool:
    """True when ``x`` is a torch tensor (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def to_numpy(x: Any) -> np.ndarray:
    """``x`` as a numpy array (a torch tensor is detached and copied to the CPU)."""
    if is_torch(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def like(x: Any, ref: Any) -> Any:
    """``x`` converted to the kind, dtype and device of ``ref``."""
    if is_torch(ref):
        import torch

        return torch.as_tensor(np.asarray(x) if not is_torch(x) else x, dtype=ref.dtype,
                               device=ref.device)
    return np.asarray(to_numpy(x), dtype=ref.dtype)


def asfloat(x: Any) -> Any:
    """``x`` as a floating array of its kind: integers and bools become float64, real and complex
    floating arrays are kept as they are (complex data is never cast to real)."""
    if is_torch(x):
        return x if (x.is_floating_point() or x.is_complex()) else x.double()
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    return x


def is_complex(x: Any) -> bool:
    """True for a complex array or tensor."""
    if is_torch(x):
        return bool(x.is_complex())
    return np.asarray(x).dtype.kind == "c"


def herm(a: Any) -> Any:
    """Conjugate transpose of a matrix (the plain transpose of a real one)."""
    return a.conj().T if is_complex(a) else a.T


def eps(x: Any) -> float:
    """Machine epsilon of the dtype of ``x``."""
    if is_torch(x):
        import torch

        return float(torch.finfo(x.dtype).eps)
    return float(np.finfo(x.dtype).eps)


def svd(a: Any) -> tuple[Any, Any, Any]:
    """Thin SVD ``a = u @ diag(s) @ vh`` with ``s`` descending."""
    if is_torch(a):
        import torch

        return torch.linalg.svd(a, full_matrices=False)
    return np.linalg.svd(a, full_matrices=False)


def eigh(a: Any) -> tuple[Any, Any]:
    """Eigen-decomposition of a symmetric (Hermitian) matrix, eigenvalues in *descending* order."""
    if is_torch(a):
        import torch

        w, v = torch.linalg.eigh(a)
        return torch.flip(w, (0,)), torch.flip(v, (1,))
    w, v = np.linalg.eigh(a)
    return w[::-1].copy(), v[:, ::-1].copy()


def qr(a: Any) -> tuple[Any, Any]:
    """Reduced QR decomposition."""
    if is_torch(a):
        import torch

        return torch.linalg.qr(a, mode="reduced")
    return np.linalg.qr(a, mode="reduced")


def norm(x: Any) -> float:
    """Frobenius norm of an array of any shape, as a Python float."""
    if is_torch(x):
        import torch

        return float(torch.linalg.vector_norm(x))
    return float(np.linalg.norm(np.ravel(x)))


def mode_dot(x: Any, matrix: Any, mode: int) -> Any:
    """Mode product ``x ×_mode matrix``: contract axis ``mode`` of ``x`` with the columns of ``matrix``.

    Parameters
    ----------
    x : (n_0, ..., n_mode, ..., n_{d-1}) array
    matrix : (m, n_mode) array

    Returns
    -------
    (n_0, ..., m, ..., n_{d-1}) array

    Notes
    -----
    Done as one (batched) matrix product on a reshaped view, without transposing ``x``.
    """
    shape = tuple(x.shape)
    n = shape[mode]
    if matrix.shape[-1] != n:
        raise ValueError(f"mode {mode} of a tensor of shape {shape} has size {n}; the matrix "
                         f"has shape {tuple(matrix.shape)}, expected (m, {n})")
    a = int(np.prod(shape[:mode], dtype=np.int64))
    b = int(np.prod(shape[mode + 1:], dtype=np.int64))
    m = matrix.shape[0]
    if a == 1:
        out = matrix @ x.reshape(n, b)
    elif b == 1:
        out = x.reshape(a, n) @ matrix.T
    else:
        out = matrix @ x.reshape(a, n, b)
    return out.reshape(shape[:mode] + (m,) + shape[mode + 1:])


def unfold(x: Any, mode: int) -> Any:
    """Mode-``mode`` unfolding, shape ``(n_mode, prod of the other sizes)``."""
    if is_torch(x):
        return x.movedim(mode, 0).reshape(x.shape[mode], -1)
    return np.moveaxis(x, mode, 0).reshape(x.shape[mode], -1)


def fix_signs(u: Any) -> Any:
    """Scale columns of ``u`` so that the entry of largest magnitude of each is real and positive.

    Makes singular vectors (defined up to sign, or up to a phase when complex) reproducible.
    """
    if u.shape[1] == 0:
        return u
    if is_torch(u):
        import torch

        idx = torch.argmax(torch.abs(u), dim=0)
        top = u[idx, torch.arange(u.shape[1], device=u.device)]
        if u.is_complex():
            mag = torch.abs(top)
            s = torch.where(mag > 0, top.conj() / torch.where(mag > 0, mag, torch.ones_like(mag)),
                            torch.ones_like(top))
        else:
            s = torch.sign(top)
            s[s == 0] = 1
        return u * s
    idx = np.argmax(np.abs(u), axis=0)
    top = u[idx, np.arange(u.shape[1])]
    if np.iscomplexobj(u):
        mag = np.abs(top)
        s = np.where(mag > 0, top.conj() / np.where(mag > 0, mag, 1.0), 1.0)
    else:
        s = np.sign(top)
        s[s == 0] = 1
    return u * s


def zeros_like_shape(ref: Any, shape: Sequence[int]) -> Any:
    """Zeros of ``shape`` with the kind, dtype and device of ``ref``."""
    if is_torch(ref):
        import torch

        return torch.zeros(tuple(shape), dtype=ref.dtype, device=ref.device)
    return np.zeros(tuple(shape), dtype=ref.dtype)


def concatenate(arrays: Sequence[Any], axis: int = 0) -> Any:
    """Concatenate arrays of one kind along ``axis``."""
    if is_torch(arrays[0]):
        import torch

        return torch.cat(list(arrays), dim=axis)
    return np.concatenate(list(arrays), axis=axis)


def kron(a: Any, b: Any) -> Any:
    """Kronecker product of two arrays with the same number of axes."""
    if is_torch(a):
        import torch

        return torch.kron(a, b)
    return np.kron(a, b)


def eye(n: int, m: int, ref: Any) -> Any:
    """The first ``m`` columns of the identity of size ``n``, of the kind and dtype of ``ref``."""
    return like(np.eye(n, m), ref)
