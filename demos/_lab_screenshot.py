"""The README's picture of the lab: a screenshot of the window after some training.

Run under an X server; ``demos/make_readme_assets.py`` does, as
``xvfb-run -a -s "-screen 0 1400x900x24" python demos/_lab_screenshot.py --out DIR``,
which writes DIR/lab_window.png (the window, cropped from the screen) and DIR/results.json.
Not a demo of its own (hence the underscore): ``minigan lab`` is the real thing.
"""

import argparse
import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt
from PIL import ImageGrab

from minigan.app import lab

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--out", type=Path, required=True, help="folder for lab_window.png and results.json")
parser.add_argument("--quick", action="store_true", help="fewer training steps before the screenshot")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)
problem = lab.display_problem()
if problem:
    sys.exit(f"lab_pictures: {problem}")
window = lab.Lab(seed=0)
ticks = 3 if args.quick else 30
for _ in range(ticks):  # 300 rounds (a D-step and a G-step each), as play would take them
    window.tick()
window.step_d()  # then one D-step by hand: the frame's title shows D-steps ahead of G-steps
plt.show(block=False)
window.fig.canvas.draw()  # render now, then let Tk put it on the screen
window.fig.canvas.get_tk_widget().update()
plt.pause(0.5)
screen = ImageGrab.grab()
out = args.out / "lab_window.png"
screen.crop(screen.convert("L").getbbox()).save(out)  # the window, without the empty screen around it
gan = window.session.gan
(args.out / "results.json").write_text(json.dumps({"steps": gan.step, "d_steps": gan.d_steps, "g_steps": gan.g_steps}))
print(f"wrote {out}")
