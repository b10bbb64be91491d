"""The graph of one step: what backward() walks in a D-step and in a G-step."""

import pytest

from minigan import Tensor, gan, grad
from minigan.app import graph

from test_gan import _small_gan
from test_plot import assert_real_image


@pytest.fixture(params=gan.LOSSES)
def graphs(request):
    model = _small_gan(0, loss=request.param)
    return model, graph.step_graphs(model)


def _ids(params):
    return {id(p) for p in params}


def test_g_step_graph_reaches_every_parameter_of_g_and_gives_d_none(graphs):
    model, graphs = graphs
    g_step = graphs["G-step"]
    getting = {n.key for n in g_step.leaves(kind="parameter") if n.gets_gradient}
    frozen = {n.key for n in g_step.leaves(kind="parameter") if not n.gets_gradient}
    assert getting == _ids(model.G.parameters())
    assert frozen == _ids(model.D.parameters())  # D computed with them, but holds them frozen


def test_g_step_gradient_path_runs_from_the_loss_through_d_into_g(graphs):
    model, graphs = graphs
    g_step = graphs["G-step"]
    assert g_step.nodes[g_step.loss].gets_gradient
    first_layer_of_d = [b for a, b in g_step.edges if a == id(model.D.parameters()[0])]
    assert first_layer_of_d and all(g_step.nodes[f].gets_gradient for f in first_layer_of_d)
    # the path enters D's first layer from G's output: an edge from a G Function into it, on the path
    assert any(b in first_layer_of_d and not g_step.nodes[a].is_leaf for a, b in g_step.path_edges())


def test_d_step_graph_has_no_path_into_g(graphs):
    model, graphs = graphs
    d_step = graphs["D-step"]
    params = d_step.leaves(kind="parameter")
    assert {n.key for n in params} == _ids(model.D.parameters())
    assert all(n.gets_gradient for n in params)
    assert not [n for n in d_step.nodes.values() if n.owner == "G" or n.label == "z"]
    (cut,) = [n for n in d_step.leaves() if n.cut]  # the fakes: a leaf, made without a graph
    assert cut.label == "G(z), no graph" and not cut.gets_gradient


def test_what_the_graph_says_is_what_backward_does():
    model = _small_gan(1)
    loss = model.g_loss()  # D frozen while the graph was built, unfrozen again now
    traced = graph.trace(loss, modules={"G": model.G, "D": model.D})
    loss.backward()
    said = {n.key for n in traced.leaves(kind="parameter") if n.gets_gradient}
    done = {id(p) for p in [*model.G.parameters(), *model.D.parameters()] if p.grad is not None}
    assert said == done == _ids(model.G.parameters())


def test_a_tensor_used_twice_is_one_node_with_two_edges():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    loss = (x * x + x).sum()  # Mul(x, x), Add(Mul, x), Sum
    traced = graph.trace(loss, tensors={"x": x})
    assert sorted(n.label for n in traced.functions()) == ["Add", "Mul", "Sum"]
    assert sum(1 for a, _ in traced.edges if a == id(x)) == 3
    assert [n.label for n in traced.leaves()] == ["x"] and traced.leaves()[0].gets_gradient


def test_trace_refuses_a_tensor_without_a_graph_and_a_freed_graph():
    with pytest.raises(ValueError, match="graph behind it"):
        graph.trace(Tensor([1.0]))
    x = Tensor([1.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="freed"):
        graph.trace(loss)


def test_printed_and_drawn(graphs, tmp_path):
    _model, graphs = graphs
    text = str(graphs["G-step"])
    assert "frozen: no gradient" in text and "gets a gradient" in text
    assert "(a cut)" in str(graphs["D-step"])
    assert_real_image(graph.figure(graphs, tmp_path / "graph.png"))


def _micrograd_example():
    """The expression of micrograd's README-sized example: L = (a·b + c)·f."""
    a, b = Tensor(2.0, requires_grad=True, name="a"), Tensor(-3.0, requires_grad=True, name="b")
    c, f = Tensor(10.0, requires_grad=True, name="c"), Tensor(-2.0, requires_grad=True, name="f")
    e = a * b
    e.name = "e"
    d = e + c
    d.name = "d"
    return (a, b, c, f), d * f


def test_the_numbers_are_each_nodes_value_and_the_gradient_backward_gives():
    (a, b, c, f), loss = _micrograd_example()
    traced = graph.trace(loss, numbers=True)
    by_label = {n.label: n for n in traced.nodes.values()}
    # dL/da = b·f, dL/db = a·f, dL/dc = f, dL/df = a·b + c; dL/de = dL/dd = f
    expected = {"a": ("2", "6"), "b": ("-3", "-4"), "c": ("10", "-2"), "f": ("-2", "4"),
                "Mul = e": ("-6", "-2"), "Add = d": ("4", "-2")}
    assert {k: (by_label[k].value, by_label[k].gradient) for k in expected} == expected
    assert a.grad is None  # drawing computes the gradients without touching .grad
    loss.backward(retain_graph=True)
    after = graph.trace(loss, numbers=True)  # after backward, with the graph kept, the same numbers
    assert [float(after.nodes[id(x)].gradient) for x in (a, b, c, f)] == [x.grad.item() for x in (a, b, c, f)]
    assert "value 4, grad -2" in str(after)


def test_arrays_are_summarised_and_frozen_or_constant_leaves_get_no_gradient():
    from minigan import nn

    net = nn.mlp([2, 3, 1], activation="tanh", dtype="float64", name="net")
    x = Tensor([[0.5, -1.0], [2.0, 0.0], [1.0, 1.0], [-1.0, 3.0]], requires_grad=True, name="x")
    with nn.frozen(net):
        hidden = net(x)
    loss = (hidden * hidden).mean() * 3.0
    traced = graph.trace(loss, modules={"net": net}, numbers=True)
    leaves = {n.label: n for n in traced.leaves()}
    (dx,) = grad(loss, [x], retain_graph=True)
    assert leaves["x"].value == "4×2 in [-1, 3]" and leaves["x"].gradient == graph.summary(dx.numpy())
    assert all(n.gradient == "" and n.value for n in traced.leaves(kind="parameter"))  # frozen: no gradient
    constants = traced.leaves(kind="constant")  # the 3, and the count that mean() divides by
    assert "3" in [n.value for n in constants] and all(n.gradient == "" for n in constants)
    assert graph.summary([1.0, 2.5]) == "[1, 2.5]" and graph.summary(7.25) == "7.25"


def test_numbers_need_a_scalar_and_a_living_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="gradients of one number"):
        graph.trace(x * x, numbers=True)
    (_, _, _, _), loss = _micrograd_example()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        graph.show(loss)


def test_show_draws_the_numbers(tmp_path):
    _, loss = _micrograd_example()
    fig = graph.show(loss, path=tmp_path / "numbers.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("value -8\ngrad 1" in t for t in texts) and any(t.startswith("a\nvalue 2\ngrad 6") for t in texts)
    assert_real_image(tmp_path / "numbers.png")
