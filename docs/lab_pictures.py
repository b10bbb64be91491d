"""Make the README's pictures of the lab: a screenshot of the window after some training.

Run under an X server, e.g. ``xvfb-run -a -s "-screen 0 1400x900x24" python docs/lab_pictures.py``;
writes docs/images/lab_window.png (the window, cropped from the screen).
"""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
from PIL import ImageGrab

from minigan import lab

problem = lab.display_problem()
if problem:
    sys.exit(f"lab_pictures: {problem}")
window = lab.Lab(seed=0)
for _ in range(30):  # 300 training steps, as play would take them
    window.tick()
window.step_d()  # then one D-step by hand: the frame's title shows D-steps ahead of G-steps
plt.show(block=False)
window.fig.canvas.draw()  # render now, then let Tk put it on the screen
window.fig.canvas.get_tk_widget().update()
plt.pause(0.5)
screen = ImageGrab.grab()
out = Path(__file__).resolve().parent / "images" / "lab_window.png"
screen.crop(screen.convert("L").getbbox()).save(out)  # the window, without the empty screen around it
print(f"wrote {out}")
