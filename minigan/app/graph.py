"""The graph that backward() walks, printed and drawn: a D-step and a G-step side by side.

A loss Tensor remembers the Function that made it (``creator``) and that Function its
``inputs``; following those links from the loss back to the leaves is exactly the walk of
``Tensor.backward()``. ``trace(loss, ...)`` makes that walk without computing anything and
returns a ``Graph``: every Function with the shape of its output, every leaf (parameters,
data, constants), and which leaves the backward pass would give a gradient.

What the two steps of a GAN show (Goodfellow et al. 2014, Algorithm 1):

- the D-step: G(z) is computed with no graph behind it, so the walk stops at the fake
  samples: a cut. No path leads into G; only D's parameters get gradients.
- the G-step: the walk runs from L_G back through every layer of D, through G(z), into
  G's parameters. D's parameters are in the graph (D computed with them) but frozen:
  the gradient flows *through* D to its input, none is kept for D's weights.

``step_graphs(gan)`` traces both steps of a GAN as its training step builds them;
``print(graph)`` lists a graph; ``figure(graphs, path)`` draws them with the gradient's
path highlighted. ``demos/graph.py`` shows both.

With numbers, for any expression a learner builds (as micrograd's ``draw_dot`` shows them):
``show(loss)`` draws the graph of ``loss`` with each node's value and its gradient
dloss/dnode, the number that one ``loss.backward()`` sends to it (and adds to a leaf's
``.grad``): a scalar's number, an array's shape and range. The graph must still be alive:
draw before ``backward()``, or keep it with ``loss.backward(retain_graph=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np  # host side: the numbers printed on the nodes

from minigan.autograd import Tensor, grad

__all__ = ["Node", "Graph", "trace", "step_graphs", "data_path", "made_by", "draw", "figure", "show", "summary"]


@dataclass(frozen=True)
class Node:
    """One node of the graph: a Function, or a leaf tensor (no creator)."""

    key: int  # id() of the Function or the leaf Tensor
    label: str  # the Function's class name, or the leaf's name
    shape: tuple  # the output's shape (a Function) or the tensor's (a leaf)
    kind: str  # 'function', 'parameter', 'input' or 'constant'
    owner: str = ""  # for a parameter: the network it belongs to ('G', 'D')
    gets_gradient: bool = False  # a leaf: backward() stores a gradient in it; a Function: it lies on such a path
    cut: bool = False  # a leaf that is the output of a computation run without a graph (detached)
    value: str = ""  # with numbers: a summary of the node's value (a Function's: its output's)
    gradient: str = ""  # with numbers: a summary of dloss/dnode ('' where backward() sends none)

    @property
    def is_leaf(self) -> bool:
        return self.kind != "function"


@dataclass
class Graph:
    """Nodes and edges (input → Function, in the direction of the forward pass); ``loss`` is the root."""

    title: str
    nodes: dict = field(default_factory=dict)  # key -> Node
    edges: list = field(default_factory=list)  # (key of input, key of the Function using it)
    loss: int = 0

    def leaves(self, kind: str | None = None, owner: str | None = None) -> list[Node]:
        return [n for n in self.nodes.values() if n.is_leaf and kind in (None, n.kind) and owner in (None, n.owner)]

    def functions(self) -> list[Node]:
        return [n for n in self.nodes.values() if not n.is_leaf]

    def feeds(self) -> dict:
        """{key of a Function: keys of its inputs, in order}."""
        inputs = {}
        for a, b in self.edges:
            inputs.setdefault(b, []).append(a)
        return inputs

    def forward_order(self) -> list[int]:
        """The Functions' keys, each after those that made its inputs (the forward pass's order)."""
        feeds, done, order = self.feeds(), set(), []
        for start in self.functions():
            stack = [start.key]
            while stack:  # iterative depth-first search: graphs of any depth
                key = stack[-1]
                pending = [a for a in feeds.get(key, []) if not self.nodes[a].is_leaf and a not in done]
                if pending:
                    stack.extend(pending)
                    continue
                stack.pop()
                if key not in done:
                    done.add(key)
                    order.append(key)
        return order

    def path_edges(self) -> list[tuple[int, int]]:
        """The edges a gradient travels on: from a node that gets a gradient to the Function using it."""
        return [(a, b) for a, b in self.edges if self.nodes[a].gets_gradient and self.nodes[b].gets_gradient]

    def __str__(self) -> str:
        lines = [f"{self.title}: {len(self.functions())} Functions, {len(self.leaves())} leaves"]
        feeds = self.feeds()
        for key in self.forward_order():
            node = self.nodes[key]
            inputs = [self.nodes[a] for a in feeds[key]]
            named = ", ".join(_short(n) for n in inputs)
            mark = "*" if node.gets_gradient else " "
            lines.append(f" {mark} {node.label:<14} -> {_shape(node.shape):<8} from {named}{_numbers(node)}")
        lines.append("leaves:")
        rank = {"input": 0, "parameter": 1, "constant": 2}
        for node in sorted(self.leaves(), key=lambda n: (rank[n.kind], n.owner != "G", n.label)):
            if node.kind == "parameter":
                what = "gets a gradient" if node.gets_gradient else "frozen: no gradient"
            elif node.cut:
                what = "made without a graph: the walk stops here (a cut)"
            elif node.kind == "input":
                what = "gets a gradient" if node.gets_gradient else "data, no gradient"
            else:
                what = "constant"
            lines.append(f"   {node.label:<24} {_shape(node.shape):<11} {what}{_numbers(node)}")
        lines.append("(* : on the gradient's path, from the loss to a leaf that gets a gradient)")
        return "\n".join(lines)


def _shape(shape) -> str:
    return "scalar" if shape == () else "×".join(map(str, shape))


def _numbers(node: Node) -> str:
    if not node.value:
        return ""
    return f"; value {node.value}" + (f", grad {node.gradient}" if node.gradient else "")


def _short(node: Node) -> str:
    return node.label if not node.is_leaf or node.kind != "constant" else "const"


def trace(loss: Tensor, title: str = "graph", modules: dict | None = None, tensors: dict | None = None,
          cuts=(), numbers: bool = False) -> Graph:
    """The graph behind ``loss``, walked as backward() walks it (nothing is computed).

    ``modules`` ({'G': G, 'D': D}) names parameters after the network they belong to,
    ``tensors`` ({'z': z, 'G(z)': fake, ...}) names leaves and results of Functions; ``cuts``
    are the names in ``tensors`` of tensors computed without a graph. A leaf gets a gradient
    when it required one at the moment a Function used it (``Function.required``), as
    ``backward()`` decides: D's parameters, frozen while the G-step's loss was built, get none.
    ``numbers=True`` adds each node's value and gradient dloss/dnode (``loss`` must be a scalar);
    computing them changes no ``.grad``.
    """
    if not isinstance(loss, Tensor) or loss.creator is None:
        raise ValueError("trace needs a loss Tensor with a graph behind it (made by operations on tensors "
                         "that require a gradient, outside no_grad, before backward() frees it)")
    names = {}
    for owner, module in (modules or {}).items():
        for name, p in module.named_parameters():
            names[id(p)] = (f"{owner}.{name}", "parameter", owner)
    for name, tensor in (tensors or {}).items():
        names[id(tensor)] = (name, "input", "")
    graph = Graph(title, loss=id(loss.creator))
    tensor_of = {}  # key of a node -> the tensor it stands for (a Function's: its output)
    stack, seen = [loss.creator], set()
    while stack:  # iterative, like backward(): each Function once, however often it is used
        function = stack.pop()
        if id(function) in seen:
            continue
        seen.add(id(function))
        if function.inputs is None:
            raise RuntimeError("the graph was freed by backward(); trace the loss before calling backward(), "
                               "or keep the graph with loss.backward(retain_graph=True)")
        output = function.output
        tensor_of[id(function)] = output
        label = type(function).__name__
        if output is not None and id(output) in names:  # e.g. 'Linear = G(z)'
            label = f"{label} = {names[id(output)][0]}"
        elif output is not None and output.name:  # a result the learner named: e = a * b; e.name = "e"
            label = f"{label} = {output.name}"
        graph.nodes[id(function)] = Node(id(function), label, output.shape if output is not None else (), "function")
        for x, required in zip(function.inputs, function.required, strict=True):
            if x.creator is not None:
                graph.edges.append((id(x.creator), id(function)))
                stack.append(x.creator)
                continue
            graph.edges.append((id(x), id(function)))
            tensor_of[id(x)] = x
            label, kind, owner = names.get(id(x), (x.name or "constant", "constant", ""))
            if kind == "constant" and (required or x.name):
                kind = "input"  # a leaf under study, or data the learner named
            gets_gradient = required or (id(x) in graph.nodes and graph.nodes[id(x)].gets_gradient)
            graph.nodes[id(x)] = Node(id(x), label, x.shape, kind, owner, gets_gradient, label in cuts)
    _mark_gradient_path(graph)
    if numbers:
        _add_numbers(graph, loss, tensor_of)
    return graph


def summary(array) -> str:
    """A short text for a value or a gradient: a scalar's number, up to 3 numbers, or an array's
    shape and range."""
    array = np.asarray(array, dtype=np.float64)
    if array.size == 1:
        return f"{array.item():.4g}"
    if array.size <= 3:
        return "[" + ", ".join(f"{v:.3g}" for v in array.ravel()) + "]"
    return f"{_shape(array.shape)} in [{array.min():.2g}, {array.max():.2g}]"


def _add_numbers(graph: Graph, loss: Tensor, tensor_of: dict) -> None:
    """Each node's value, and dloss/dnode where backward() sends a gradient (one grad() call)."""
    if loss.size != 1:
        raise ValueError(f"the numbers on a graph are gradients of one number; the loss has shape {loss.shape} "
                         "(sum it, or take its mean)")
    getting = [key for key, node in graph.nodes.items() if node.gets_gradient]
    grads = dict(zip(getting, grad(loss, [tensor_of[key] for key in getting], retain_graph=True), strict=True))
    for key, node in graph.nodes.items():
        gradient = summary(grads[key].numpy()) if key in grads else ""
        graph.nodes[key] = Node(**{**node.__dict__, "value": summary(tensor_of[key].numpy()), "gradient": gradient})


def _mark_gradient_path(graph: Graph) -> None:
    """A Function is on the gradient's path when a leaf upstream of it gets a gradient."""
    feeds, on_path = graph.feeds(), {}
    for key in graph.forward_order():  # producers first, so each input's answer is known
        on_path[key] = any(graph.nodes[a].gets_gradient if graph.nodes[a].is_leaf else on_path[a] for a in feeds[key])
        if on_path[key]:
            graph.nodes[key] = Node(**{**graph.nodes[key].__dict__, "gets_gradient": True})


# ----------------------------------------------------------------------------- a GAN's two steps


def step_graphs(gan) -> dict:
    """{'D-step': Graph, 'G-step': Graph}: the losses that ``gan.d_loss()`` and ``gan.g_loss()``
    build, exactly as ``d_step`` and ``g_step`` build them (no parameter is updated; the run's
    random generator moves on, and a spectrally normalised layer's u and v take their power
    step, as in any forward pass in training mode)."""
    modules = {"G": gan.G, "D": gan.D}
    loss_d = gan.d_loss()  # steps 1-4: the fakes come from G under no_grad, so they have no creator
    real, fake = data_path(loss_d.out_real)[-1], data_path(loss_d.out_fake)[-1]
    named = {"x (real)": real, "G(z), no graph": fake, "logit ℓ(x)": loss_d.out_real,
             "logit ℓ(G(z))": loss_d.out_fake, "L_D,r": loss_d.real, "L_D,f": loss_d.fake, "L_D": loss_d.total}
    d_graph = trace(loss_d.total, "D-step: L_D = L_D,r + L_D,f; G(z) made without a graph, so nothing leads into G",
                    modules, named, cuts=("G(z), no graph",))
    loss_g = gan.g_loss()  # steps 6-8: G(z) recorded, D frozen while the graph was built
    path = data_path(loss_g)
    named = {"z": path[-1], "G(z)": made_by(path, gan.G), "logit ℓ(G(z))": made_by(path, gan.D),
             "L_G": loss_g}
    g_graph = trace(loss_g, f"G-step: L_G ({gan.config.loss}); D frozen, the gradient runs through D and G(z) "
                    "into G's parameters", modules, named)
    return {"D-step": d_graph, "G-step": g_graph}


def data_path(tensor: Tensor) -> list[Tensor]:
    """``tensor`` and the tensors it was computed from, back to a leaf, along each Function's first
    input that was itself computed (else its first input): for a stack of layers, the path of the
    data (a layer's first input is its data; in ½·mean(...) the constant ½ is passed by)."""
    path = [tensor]
    while path[-1].creator is not None:
        inputs = path[-1].creator.inputs
        path.append(next((x for x in inputs if x.creator is not None), inputs[0]))
    return path


def made_by(path: list[Tensor], module) -> Tensor:
    """The first tensor on ``path`` (from the loss back) made by a Function using ``module``'s parameters:
    the module's output."""
    params = {id(p) for p in module.parameters()}
    return next(t for t in path if t.creator is not None and any(id(x) in params for x in t.creator.inputs))


# ----------------------------------------------------------------------------- drawing

STYLE = {  # face colours of the nodes
    "function": "#dbe9f6", "G": "#c7e9c0", "D": "#fdd0a2", "input": "white", "constant": "0.92", "cut": "#fcbba1",
}


def _layout(graph: Graph) -> dict:
    """(column, row) for each node: columns follow the forward pass (leaves left of their first
    use), rows keep each column's nodes apart in the order their inputs sit."""
    feeds, order, column = graph.feeds(), graph.forward_order(), {}
    for key in order:  # a Function one column right of its latest-computed input
        column[key] = 1 + max((column.get(a, 0) for a in feeds.get(key, []) if not graph.nodes[a].is_leaf), default=0)
    users = {}
    for a, b in graph.edges:
        users.setdefault(a, []).append(b)
    for node in graph.leaves():  # data on the left; parameters and constants just before their first use
        first_use = min(column[b] for b in users[node.key])
        column[node.key] = {"parameter": first_use - 1, "constant": first_use - 0.5}.get(node.kind, 0)
    lane = {}  # the data's lane: inputs in the order given, each Function in the lane of its data input
    for i, node in enumerate(n for n in graph.leaves() if n.kind == "input"):
        lane[node.key] = i
    for key in order:
        data_inputs = [a for a in feeds.get(key, []) if graph.nodes[a].kind in ("function", "input")]
        lane[key] = lane.get(data_inputs[0], 0) if data_inputs else 0
    row, by_column = {}, {}
    for key in sorted(column, key=lambda k: column[k]):
        by_column.setdefault(column[key], []).append(key)
    lanes = max(lane.values(), default=0) + 1
    most = max(sum(1 for k in keys if lane.get(k) == n) for keys in by_column.values() for n in range(lanes))
    spread = 1 + 0.5 * (most - 1)
    for keys in by_column.values():  # data lanes first, then parameters, then constants
        keys.sort(key=lambda k: ({"parameter": 1, "constant": 2}.get(graph.nodes[k].kind, 0),
                                 lane.get(k, 0), graph.nodes[k].label))
        stacked = {}  # nodes of one lane in one column (Softplus and Mul both use a logit) stack up
        for k in keys:
            if k in lane:
                stacked.setdefault(lane[k], []).append(k)
        for k in keys:
            if k in lane:
                row[k] = -(lane[k] * spread + 0.5 * stacked[lane[k]].index(k))
        others = [k for k in keys if k not in lane]
        for i, k in enumerate(others):
            row[k] = -(lanes * spread + i)
    return {k: (column[k], row[k]) for k in column}


def draw(graph: Graph, ax) -> None:
    """Draw ``graph`` on ``ax``: the forward pass runs left to right; the gradient's path is red."""
    position = _layout(graph)
    path = set(graph.path_edges())
    for a, b in graph.edges:
        (x0, y0), (x1, y1) = position[a], position[b]
        on_path = (a, b) in path
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=2 if on_path else 1,
                    arrowprops=dict(arrowstyle="-|>", color="tab:red" if on_path else "0.6",
                                    lw=2.2 if on_path else 0.8, shrinkA=14, shrinkB=14))
    for node in graph.nodes.values():
        x, y = position[node.key]
        shape = "" if node.value and node.shape == () else f"\n{_shape(node.shape)}"  # a number says it is one
        if node.kind == "function":
            face, text = STYLE["function"], f"{node.label}{shape}"
        elif node.kind == "parameter":
            state = "" if node.gets_gradient else "\nfrozen"
            face, text = STYLE[node.owner] if node.owner in STYLE else "white", f"{node.label}{state}"
        elif node.cut:
            face, text = STYLE["cut"], f"{node.label}{shape}\n✂ cut"
        else:
            face = STYLE[node.kind]
            text = "const" if node.kind == "constant" else f"{node.label}{shape}"
        if node.value:  # numbers: the value, and the gradient backward() sends (none: it sends none)
            text += f"\nvalue {node.value}" + (f"\ngrad {node.gradient}" if node.gradient else "")
        edge = "tab:red" if node.gets_gradient else ("0.5" if node.kind == "constant" else "black")
        style = "round,pad=0.3" if node.kind == "function" else "square,pad=0.3"
        ax.text(x, y, text, ha="center", va="center", fontsize=6.5 if node.kind != "constant" else 5.5,
                zorder=3, bbox=dict(boxstyle=style, fc=face, ec=edge, lw=1.6 if node.gets_gradient else 0.8,
                                    ls="--" if node.kind == "parameter" and not node.gets_gradient else "-"))
    xs = [p[0] for p in position.values()]
    ys = [p[1] for p in position.values()]
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(min(ys) - 1, max(ys) + 1)
    ax.set_title(graph.title, fontsize=10)
    ax.axis("off")


def figure(graphs: dict, path):
    """Draw each graph of ``graphs`` (a dict of Graphs) in a row of its own; save to ``path``."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from minigan.app import plot

    graphs = list(graphs.values())
    layouts = [_layout(g) for g in graphs]
    widths = [max(x for x, _ in layout.values()) for layout in layouts]
    heights = [len({y for _, y in layout.values()}) for layout in layouts]
    rows = [0.55 * h + 1.5 for h in heights]  # inches for each graph
    fig, axes = plot.subplots(len(graphs), 1, figsize=(1.25 * max(widths) + 2, sum(rows)),
                                  gridspec_kw={"height_ratios": rows}, squeeze=False)
    for ax, graph in zip(axes[:, 0], graphs, strict=True):
        draw(graph, ax)
    legend = [
        Line2D([], [], color="tab:red", lw=2.2, label="path of the gradient (backward walks it right to left)"),
        Patch(fc=STYLE["function"], ec="black", label="Function: its output's shape"),
        Patch(fc=STYLE["G"], ec="tab:red", label="G's parameter (red edge: gets a gradient)"),
        Patch(fc=STYLE["D"], ec="black", ls="--", label="D's parameter (dashed: frozen, no gradient)"),
        Patch(fc=STYLE["cut"], ec="black", label="G(z) made without a graph: the cut"),
        Patch(fc=STYLE["constant"], ec="0.5", label="constant (labels, scalars)"),
    ]
    fig.legend(handles=legend, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return plot.save(fig, path)


def show(loss: Tensor, title: str | None = None, tensors: dict | None = None, modules: dict | None = None,
         path=None):
    """The graph of ``loss`` with every node's value and gradient dloss/dnode, as a Figure (a notebook
    shows it; ``path`` also saves it as a PNG). Leaves are named by their ``name`` or by ``tensors``
    ({'x': x, ...}); a Function's result by the name of its output (``e.name = 'e'``)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from minigan.app import plot

    graph = trace(loss, title or "values and gradients dL/d(node): what backward() computes", modules, tensors,
                  numbers=True)
    layout = _layout(graph)
    columns = max(x for x, _ in layout.values()) - min(x for x, _ in layout.values()) + 1
    rows = max(y for _, y in layout.values()) - min(y for _, y in layout.values()) + 1
    fig, ax = plot.subplots(figsize=(1.9 * columns + 1, 1.0 * rows + 1.6))
    draw(graph, ax)
    legend = [Line2D([], [], color="tab:red", lw=2.2, label="path of the gradient"),
              Patch(fc=STYLE["function"], ec="black", label="Function: its output's value and gradient"),
              Patch(fc=STYLE["input"], ec="tab:red", label="leaf that gets a gradient (.grad)")]
    fig.legend(handles=legend, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    if path is not None:
        plot.save(fig, path)
    return fig
