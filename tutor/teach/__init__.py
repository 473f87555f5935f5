"""Teaching on top of the trace: the judge and its mistake catalogue, answer sheets, the quiz, the grader, progress."""
