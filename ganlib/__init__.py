"""ganlib: the small shared library of the GAN course.

Lessons import what they need from the submodules, e.g. ``from ganlib import data, viz``.
Importing ``ganlib`` itself stays cheap: nothing heavy is loaded here.
"""

__version__ = "0.2.0"

#: GitHub ``owner/name`` of the course. The lessons' Open-in-Colab badges and their first cell
#: (which installs the course on Colab) are generated from it and from ``COURSE_REF`` by
#: ``make exercises`` (tools/course_links.py): a fork changes them here, then runs that.
COURSE_REPO = "gan-course/gan-course"
#: The git tag (or commit) that the badges open and the setup cells install: this release, so a
#: learner's notebook and library always match. Tag each release ``v<version>`` when it lands.
COURSE_REF = f"v{__version__}"
