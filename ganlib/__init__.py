"""ganlib: the small shared library of the GAN course.

Lessons import what they need from the submodules, e.g. ``from ganlib import data, viz``.
Importing ``ganlib`` itself stays cheap: nothing heavy is loaded here.
"""

__version__ = "0.1.0"

#: GitHub ``owner/name`` of the course, used by the Open-in-Colab badges and the Colab install cell.
#: Instructors who fork the course change it here and in the notebooks' first cells.
COURSE_REPO = "gan-course/gan-course"
