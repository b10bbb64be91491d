"""The graph of one step: what backward() walks in a D-step and in a G-step."""

import pytest

from minigan import Tensor, gan
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
