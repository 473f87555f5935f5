"""Grades and questions for learning-management systems: Gradescope's autograder (results.json and the
autograder zip) and Moodle's XML question format."""
