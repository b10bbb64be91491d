"""The graph that backward() walks in a D-step and in a G-step, printed and drawn.

Backpropagation follows the links a loss keeps to the Functions that made it and to their
inputs. ``minigan.app.graph`` makes the same walk for the two losses of one training step
of the ring preset (Goodfellow et al. 2014, Algorithm 1) and draws it:

- D-step: the fakes G(z) were computed without a graph, so the walk ends at them: G,
  its parameters and z are not in the graph at all, and only D's parameters get gradients.
- G-step: the path runs from L_G back through all of D, through G(z), into every
  parameter of G. D's parameters are in the graph, frozen: the gradient passes through
  D's layers to their input, and none is stored for D's weights.

    python demos/graph.py [--quick] [--out DIR]
"""

from _common import arguments, report, save_results
from minigan.app import graph, presets

args = arguments(__doc__, "graph")
gan, _ = presets.build("ring", seed=0)
graphs = graph.step_graphs(gan)
for g in graphs.values():
    print(g, end="\n\n")

save_results(args, **{name: dict(functions=len(g.functions()), leaves=len(g.leaves()),
                                 with_gradient=sum(n.gets_gradient for n in g.leaves())) for name, g in graphs.items()})
report(args, [graph.figure(graphs, args.out / "graph.png")], [
    "top (D-step): two lanes, real x and the fakes, through the same three Linear layers of D into "
    "L_D,r and L_D,f; the fakes' box is the cut: nothing leads from it into G",
    "bottom (G-step): the red path runs right to left from L_G through D's layers and G(z) into each of "
    "G's six parameters; D's six parameters hang off the path, dashed: frozen, no gradient",
])
