"""Finding the reports to compare: every report.json under run and sweep directories."""

import json
from pathlib import Path

from synthbalance.pipelines.dataset import DataError
from synthbalance.pipelines.io import STAGED
from synthbalance.pipelines.report.schema import COMPARED_FIELDS, NotAReport, check_report


def find_reports(directories):
    """``(reports, problems)``: every readable report under ``directories`` as
    ``[(run directory, report)]``, and a line per report.json that could not be used
    (unreadable, truncated, not a synthbalance report, or damaged: a field that does not
    hold what report-v1 says, named), naming its path.

    A report's own JSON file may stand for its run directory. A path that does not exist,
    or is neither a directory nor a .json file, is a DataError; so is finding no usable
    report.
    """
    paths = []
    for directory in map(Path, directories):
        if directory.is_file() and directory.suffix == ".json":
            paths.append(directory)
            continue
        if not directory.exists():
            raise DataError(f"{directory}: no such directory")
        if not directory.is_dir():
            raise DataError(f"{directory}: not a directory or a report's .json file")
        # a report being saved lies in a staged folder until its run's files are complete
        paths += sorted(
            path
            for path in directory.rglob("report.json")
            if not any(part.startswith(STAGED) for part in path.relative_to(directory).parts)
        )
    reports, problems = [], []
    for path in dict.fromkeys(p.resolve() for p in paths):
        try:
            text = path.read_text(encoding="utf-8")
            report = check_report(json.loads(text), where=str(path), fields=COMPARED_FIELDS)
        except OSError as error:
            problems.append(f"{path}: cannot be read ({error.strerror})")
        except NotAReport as error:
            problems.append(str(error))
        except ValueError as error:  # json.JSONDecodeError, UnicodeDecodeError
            problems.append(f"{path}: not valid JSON, truncated or corrupt ({error})")
        else:
            reports.append((str(path.parent), report))
    if not reports:
        found = f"; skipped: {'; '.join(problems)}" if problems else ""
        raise DataError(f"no usable report.json under {', '.join(map(str, directories))}{found}")
    return reports, problems
