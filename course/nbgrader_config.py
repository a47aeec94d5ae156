"""nbgrader configuration of the rlvae-tutorial course.

Every nbgrader command run in this folder reads it (see book/instructor_guide.md).  The course
lives entirely inside this folder: the instructor notebooks copied from the book (``source/``,
written by ``make assignments``), the student versions (``release/``), submissions
(``downloaded/`` zips -> ``submitted/``), grades (``autograded/``, ``gradebook.db``,
``grades.csv``), feedback (``feedback/``) and the exchange of a JupyterHub set-up (``exchange/``).
All of these are generated and git-ignored.
"""

import os

here = os.path.dirname(os.path.abspath(__file__))
c = get_config()  # noqa: F821 - injected by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "rlvae-tutorial"
c.CourseDirectory.root = here
c.Exchange.root = os.path.join(here, "exchange")  # only `release_assignment`/`collect` use it

# Submissions downloaded from a learning-management system as one or more zips, put into
# downloaded/<assignment>/archive/, are collected by `nbgrader zip_collect <assignment>`.  Each
# notebook in them must be named  <student_id>__<notebook>.ipynb  (two underscores; the student
# id itself has none), e.g. alice__getting_started.ipynb, in any folder of the zip.  nbgrader
# matches this pattern against the file's whole extracted path.
c.ZipCollectApp.collector_plugin = "nbgrader.plugins.zipcollect.FileNameCollectorPlugin"
c.FileNameCollectorPlugin.named_regexp = r".*/(?P<student_id>[^/]+?)__(?P<file_id>[^/]+\.ipynb)$"
c.FileNameCollectorPlugin.valid_ext = [".ipynb"]
c.ZipCollectApp.strict = True  # skip (and name) notebooks that are not part of the assignment

# Chapters train small models: give a cell as long as the book build does (_config.yml).
c.Execute.timeout = 900

# Feedback pages show the graded test cells' outputs but not their hidden tests' code.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests",
]
