"""Reading a NIR graph: the file, nested graphs inlined, node order, parameter arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import ChipemuError


class NIRImportError(ChipemuError):
    """A NIR graph that chipemu cannot convert (unsupported node, value out of range)."""


def nir_module():
    try:
        import nir
    except ImportError:
        raise NIRImportError("importing NIR needs the optional package 'nir': pip install 'chipemu[nir]'") from None
    return nir


def tname(node) -> str:
    return type(node).__name__


def vec(key: str, node, param: str, value, n: int) -> np.ndarray:
    """``value`` (a scalar or an array of n values, any shape) as a finite float array (n,)."""
    arr = np.asarray(value if value is not None else 0.0, dtype=np.float64)
    if arr.size == 1:
        arr = np.full(n, float(arr.reshape(-1)[0]))
    arr = arr.reshape(-1)
    if arr.size != n:
        raise NIRImportError(f"node '{key}' ({tname(node)}): parameter '{param}' has {arr.size} values, expected 1 or {n}")
    if not np.all(np.isfinite(arr)):
        raise NIRImportError(f"node '{key}' ({tname(node)}): parameter '{param}' is not finite")
    return arr


def io_shape(node, which: str = "input") -> tuple[int, ...] | None:
    """The node's declared input (or output) shape, if it has one."""
    types = getattr(node, f"{which}_type", None) or {}
    if not types:
        return None
    shape = np.asarray(next(iter(types.values()))).reshape(-1)
    if shape.size == 0 or not np.all(np.isfinite(shape)):
        return None
    return tuple(int(s) for s in shape)


def as_graph(graph_or_path):
    """``(graph, path)``: a :class:`nir.NIRGraph` as given, or read from a ``.nir`` file."""
    nir = nir_module()
    if isinstance(graph_or_path, nir.NIRGraph):
        return graph_or_path, None
    if isinstance(graph_or_path, (str, Path)):
        path = Path(graph_or_path)
        if not path.is_file():
            raise NIRImportError(f"NIR file {path}: no such file")
        from ...bounded import check_hdf5
        check_hdf5(path, "NIR file", NIRImportError)  # declared sizes checked before anything is loaded
        try:
            graph = nir.read(path)
        except Exception as exc:  # noqa: BLE001 -- h5py / nir errors on a malformed file: bad input
            raise NIRImportError(f"NIR file {path}: cannot read ({type(exc).__name__}: {exc})") from None
        if not isinstance(graph, nir.NIRGraph):
            raise NIRImportError(f"NIR file {path}: holds a {tname(graph)}, not a NIRGraph")
        return graph, path
    raise NIRImportError(f"from_nir: expected a nir.NIRGraph or a path to a .nir file, got {type(graph_or_path).__name__}")


class Passthrough:
    """The Input/Output node of an inlined nested graph: passes values on unchanged."""

    def __init__(self, shape):
        self.shape = shape


def inline(graph, prefix: str = "") -> tuple[dict, list[tuple[str, str]]]:
    """Nodes and edges of ``graph`` with every nested NIRGraph inlined.

    A nested graph ``g`` becomes its nodes ``g.k``; its Input and Output nodes become
    :class:`Passthrough` nodes, so an edge ``a -> g`` goes to ``g``'s Input (its only one,
    or ``g.name`` when the edge names it) and ``g -> b`` leaves from its Output.
    """
    nir = nir_module()
    nodes: dict = {}
    edges: list[tuple[str, str]] = []
    entry: dict[str, list[str]] = {}
    exit_: dict[str, list[str]] = {}
    for key, node in graph.nodes.items():
        full = f"{prefix}{key}"
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges = inline(node, f"{full}.")
            for k, n in sub_nodes.items():
                if isinstance(n, (nir.Input, nir.Output)) and k.count(".") == full.count(".") + 1:
                    (entry if isinstance(n, nir.Input) else exit_).setdefault(full, []).append(k)
                    n = Passthrough(io_shape(n))
                nodes[k] = n
            edges += sub_edges
        else:
            nodes[full] = node
    for a, b in graph.edges:
        a, b = f"{prefix}{a}", f"{prefix}{b}"
        a = _port(a, exit_, "leaves", "Output")
        b = _port(b, entry, "enters", "Input")
        edges.append((a, b))
    return nodes, edges


def _port(key: str, ports: dict[str, list[str]], verb: str, kind: str) -> str:
    if key in ports:
        if len(ports[key]) != 1:
            raise NIRImportError(f"an edge {verb} nested graph '{key}', which has {len(ports[key])} {kind} nodes; "
                                 f"name one of them ({', '.join(ports[key])})")
        return ports[key][0]
    return key


def order_nodes(nodes: dict, succ: dict[str, list[str]], sources: list[str]) -> list[str]:
    """Breadth first from ``sources`` (keys sorted at each level), then the rest sorted: the
    result does not depend on dict order (``nir.read`` returns nodes sorted by key)."""
    order: list[str] = []
    seen: set[str] = set()
    frontier = sorted(sources)
    while frontier:
        for k in frontier:
            if k not in seen:
                order.append(k)
                seen.add(k)
        frontier = sorted({b for a in frontier for b in succ[a]} - seen)
    order += sorted(set(nodes) - seen)
    return order
