"""How a partner file is written: kind, encoding, separator, decimal mark, header row, sheet.

Partners' files are hand-made: cp1252 or UTF-8 with a BOM, `;` separators and decimal commas,
a title line above the header, several sheets in a workbook. `sniff_table` works on the bytes
(no I/O) and returns the header and the data rows as strings, or raises `PartnerFileError` with
a message, in French, naming the file and what is wrong with it: the producer reads it.

Encoding: strict UTF-8 first (a BOM is dropped), else charset-normalizer among the encodings
French office software writes; a Western single-byte guess is read as cp1252, which is latin-1
plus the typographic apostrophe, `œ` and `€` that latin-1 turns into control characters.
UTF-16 without a BOM is recognised by its NUL bytes on every other position; a few stray NUL
bytes in a text file are kept in their cells (the reading rejects those rows), only a file
made mostly of them is binary.

What one file may cost is bounded before it is held as a table (`CELLULES_MAX` cells,
`PROFONDEUR_JSON_MAX` levels of JSON nesting, a workbook's declared sheet dimension and
inflated size): a file beyond is refused with a French message, never read into memory.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time

import charset_normalizer

from observatory.transforms.names import normalise_nom_colonne

CSV = "csv"
XLSX = "xlsx"
JSON = "json"
SEPARATEURS = (";", ",", "\t", "|")
ENCODAGES_CANDIDATS = ("utf_8", "cp1252", "latin_1", "iso8859_15", "mac_roman", "utf_16")
ENCODAGES_OCCIDENTAUX = {"cp1252", "latin_1", "iso8859_1", "iso8859_15", "cp1250", "mac_roman"}
LIGNES_EXAMINEES = 20  # rows searched for the header
CELLULES_MAX = 5_000_000  # cells of one file (rows × columns): beyond, refused before reading
PROFONDEUR_JSON_MAX = 64  # nesting of a JSON document: records are objects of values
CHIFFRES_ENTIER_MAX = 30  # digits of a JSON integer converted (longer ones stay text)
TAILLE_CHAMP_CSV = 1 << 24  # one CSV field (csv's own limit, 131072, failed in English)
PART_NUL_BINAIRE = 0.01  # share of NUL bytes above which a file (not UTF-16) is binary
NULS_ISOLES_MAX = 8  # a few NUL bytes in a small file are damage in rows, not a binary file
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # XLS 97-2003, old Word files
_BOMS_UTF16 = (b"\xff\xfe", b"\xfe\xff")
_DECIMALE_VIRGULE = re.compile(r"^[+-]?\d+,\d+$")
_DECIMALE_POINT = re.compile(r"^[+-]?\d+\.\d+$")
_MILLIERS_AMBIGUS = re.compile(r"^[+-]?\d{1,3}[.,]\d{3}$")  # 1.234 or 1,234: says nothing


class PartnerFileError(ValueError):
    """A partner file that cannot be read as a table; the message is for its producer."""

    def __init__(self, fichier: str, message: str) -> None:
        super().__init__(f"{fichier} : {message}")
        self.fichier = fichier
        self.detail = message


@dataclass(frozen=True)
class FileFormat:
    """What was found (or imposed by the mapping) about a file."""

    type_fichier: str
    encodage: str | None = None
    separateur: str | None = None
    decimale: str = "."
    ligne_entete: int = 0  # 0-based row of the header: rows above it are title lines
    feuille: str | None = None


@dataclass(frozen=True)
class Table:
    """A file as a header and data rows of strings (None for an empty cell).

    `numeros[i]` is the 1-based record number of `lignes[i]` counted from the row under the
    header (blank rows are skipped but keep their number); `largeurs[i]` its number of fields
    as written, to spot rows with more or fewer fields than the header.
    """

    format: FileFormat
    entete: list[str]
    lignes: list[list[str | None]]
    numeros: list[int]
    largeurs: list[int] = field(default_factory=list)
    lignes_vides: int = 0
    doublons: tuple[str, ...] = ()  # header names written more than once (renamed `<nom>_2`)


def detect_type(content: bytes, fichier: str) -> str:
    """csv, xlsx or json, from the bytes (a file's extension is often wrong)."""
    if not content.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise PartnerFileError(fichier, "le fichier est vide (0 ligne).")
    if content.startswith(_ZIP):
        return XLSX
    if content.startswith(_OLE):
        raise PartnerFileError(
            fichier,
            "classeur Excel 97-2003 (.xls) : format non pris en charge, enregistrez-le en .xlsx "
            "ou en CSV.",
        )
    return CSV  # text: JSON and HTML are told apart once decoded


def utf16_sans_bom(content: bytes) -> str | None:
    """`utf-16-le` or `utf-16-be` for UTF-16 text without a BOM, else None.

    Latin text in UTF-16 has a NUL byte in (nearly) every pair, always on the same side: odd
    positions for little-endian, even for big-endian.
    """
    sample = content[:20_000]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    pairs_sample = sample[: 2 * pairs]
    impairs = pairs_sample[1::2].count(0)
    pairs_nuls = pairs_sample[0::2].count(0)
    for nuls, autres, encodage in (
        (impairs, pairs_nuls, "utf-16-le"),
        (pairs_nuls, impairs, "utf-16-be"),
    ):
        if nuls >= 0.6 * pairs and autres <= 0.05 * pairs:
            try:
                content[: 2 * (len(content) // 2)].decode(encodage)
            except UnicodeDecodeError:
                return None
            return encodage
    return None


def detect_encoding(content: bytes, fichier: str) -> str:
    """The encoding of a text file; cp1252 rather than latin-1, UTF-8 with its BOM dropped."""
    if content.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if content.startswith(_BOMS_UTF16):
        return "utf-16"
    if b"\x00" in content[:20_000] and (encodage := utf16_sans_bom(content)):
        return encodage
    try:
        content.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    guess = charset_normalizer.from_bytes(content, cp_isolation=list(ENCODAGES_CANDIDATS)).best()
    encodage = guess.encoding if guess is not None else None
    if encodage is None or encodage in ENCODAGES_OCCIDENTAUX:
        try:
            content.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    if encodage is None:
        raise PartnerFileError(
            fichier, "encodage des caractères non reconnu : enregistrez le fichier en UTF-8."
        )
    return encodage


def _decode(content: bytes, fichier: str, encodage: str | None) -> tuple[str, str]:
    encodage = encodage or detect_encoding(content, fichier)
    try:
        text = content.decode(encodage)
    except (UnicodeDecodeError, LookupError) as error:
        raise PartnerFileError(fichier, f"illisible en {encodage} ({error}).") from None
    if text.count("\x00") > max(NULS_ISOLES_MAX, PART_NUL_BINAIRE * len(text)):
        raise PartnerFileError(
            fichier, "fichier binaire (ni CSV, ni XLSX, ni JSON) : format non reconnu."
        )
    return text.removeprefix("\ufeff"), encodage


def _refuse_html(text: str, fichier: str) -> None:
    debut = text.lstrip()[:2000].casefold()
    if debut.startswith(("<!doctype html", "<html", "<head", "<body")) or (
        debut.startswith("<") and "<html" in debut
    ):
        raise PartnerFileError(
            fichier,
            "c'est une page web (HTML) enregistrée sous ce nom, pas un export de données : "
            "téléchargez à nouveau le fichier lui-même.",
        )


def _parse_csv(text: str, separateur: str, fichier: str, limite: int | None = None) -> list[list]:
    """Records of a CSV text; an unterminated quoted field at the end means a truncated file."""
    csv.field_size_limit(TAILLE_CHAMP_CSV)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separateur, strict=True)
    rows: list[list[str]] = []
    cellules = 0
    try:
        for row in reader:
            rows.append(row)
            cellules += len(row)
            if limite is not None and len(rows) >= limite:
                break
            if cellules > CELLULES_MAX:
                raise PartnerFileError(fichier, _trop_de_cellules(f"plus de {CELLULES_MAX}"))
    except csv.Error as error:
        if limite is not None:  # only sniffing: this separator reads badly
            return rows
        if "field larger" in str(error):
            raise PartnerFileError(
                fichier,
                f"une cellule de la ligne {reader.line_num} dépasse {TAILLE_CHAMP_CSV} "
                "caractères (guillemet jamais refermé ?) : corrigez cette cellule.",
            ) from None
        if "end of data" in str(error) or "EOF" in str(error):
            raise PartnerFileError(
                fichier,
                f"le fichier s'arrête au milieu d'une valeur entre guillemets (à partir de la "
                f"ligne {reader.line_num}) : il semble tronqué, envoyez-le à nouveau en entier.",
            ) from None
        if "expected after" in str(error):
            raise PartnerFileError(
                fichier,
                f"ligne {reader.line_num} : un guillemet (\") est suivi d'autre chose que le "
                "séparateur ; une cellule entre guillemets doit s'arrêter au guillemet fermant "
                '(une formule comme =LIEN_HYPERTEXTE("…") doit être exportée comme valeur). '
                "Corrigez cette ligne ou enregistrez le fichier en CSV depuis le tableur.",
            ) from None
        raise PartnerFileError(
            fichier,
            f"CSV mal formé à la ligne {reader.line_num} (le lecteur CSV dit : {error}) : "
            "vérifiez les guillemets et le séparateur de cette ligne.",
        ) from None
    return rows


def _trop_de_cellules(combien: str) -> str:
    return (
        f"{combien} cellules (lignes × colonnes), au-delà de la limite de {CELLULES_MAX} : "
        "découpez le fichier ou contactez l'observatoire."
    )


def _score_entete(row: list, connues: set[str]) -> int:
    return len({normalise_nom_colonne(str(c)) for c in row if c is not None} & connues)


def _remplie(cell: object) -> bool:
    return cell is not None and str(cell).strip() != ""


def find_header(rows: list[list], connues: Collection[str], fichier: str) -> int:
    """The row holding the header: the one naming the most known columns among the first rows.

    Without known columns, the first row with at least half its cells filled.
    """
    connues_n = {normalise_nom_colonne(c) for c in connues}
    premieres = rows[:LIGNES_EXAMINEES]
    if connues_n:
        scores = [_score_entete(r, connues_n) for r in premieres]
        if scores and max(scores) > 0:
            return scores.index(max(scores))
        trouvees = [str(c) for c in (premieres[0] if premieres else []) if _remplie(c)]
        raise PartnerFileError(
            fichier,
            "disposition non reconnue : aucune des colonnes attendues n'apparaît dans les "
            f"{LIGNES_EXAMINEES} premières lignes. Colonnes attendues : "
            f"{', '.join(sorted(connues))}. Trouvées en première ligne : "
            f"{', '.join(trouvees[:30]) or '(aucune)'}.",
        )
    for index, row in enumerate(premieres):
        if row and sum(_remplie(c) for c in row) * 2 >= len(row):
            return index
    return 0


def _choose_separator(text: str, connues: Collection[str], fichier: str) -> str:
    """The separator under which the header names the most known columns, rows most regular."""
    connues_n = {normalise_nom_colonne(c) for c in connues}
    best: tuple[tuple[int, float, int], str] | None = None
    for sep in SEPARATEURS:
        rows = _parse_csv(text, sep, fichier, limite=50)
        rows = [r for r in rows if any(c.strip() for c in r)]
        if not rows:
            continue
        match = max((_score_entete(r, connues_n) for r in rows[:LIGNES_EXAMINEES]), default=0)
        widths = Counter(len(r) for r in rows)
        width, n = widths.most_common(1)[0]
        score = (match, n / len(rows) if width > 1 else 0.0, width)
        if best is None or score > best[0]:
            best = (score, sep)
    return best[1] if best else ";"


def detect_decimal(values: list[str | None]) -> str:
    """`,` when numbers are written with a decimal comma more often than with a point."""
    virgule = point = 0
    for value in values:
        if value is None:
            continue
        v = value.strip().replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
        if _MILLIERS_AMBIGUS.match(v):
            continue
        if _DECIMALE_VIRGULE.match(v):
            virgule += 1
        elif _DECIMALE_POINT.match(v):
            point += 1
    return "," if virgule > point else "."


def _cell(value: object) -> str | None:
    """A cell as text: integral floats without `.0`, dates in ISO, empty → None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    return text if text.strip() != "" else None


def _names(header: list) -> list[str]:
    """Header cells as unique names; an empty one is `colonne_<n>` (1-based position)."""
    names: list[str] = []
    for position, cell in enumerate(header, start=1):
        name = (_cell(cell) or "").strip() or f"colonne_{position}"
        base, k = name, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names


def _table(
    rows: list[list], fmt: FileFormat, connues: Collection[str], fichier: str, tronque: bool
) -> Table:
    """Header and data rows of a grid; the last row short of fields in a file cut short is an
    error (truncation), not a row."""
    header_index = fmt.ligne_entete if fmt.ligne_entete else find_header(rows, connues, fichier)
    if header_index >= len(rows):
        raise PartnerFileError(fichier, f"pas de ligne d'en-tête à la ligne {header_index + 1}.")
    entete = _names(rows[header_index])
    while len(entete) > 1 and entete[-1].startswith("colonne_"):  # trailing separators
        entete.pop()
    ecrits = [(_cell(c) or "").strip() for c in rows[header_index][: len(entete)]]
    doublons = tuple(sorted({n for n in ecrits if n and ecrits.count(n) > 1}))
    lignes, numeros, largeurs, vides = [], [], [], 0
    for numero, row in enumerate(rows[header_index + 1 :], start=1):
        # `_cell` inlined for text and empty cells (every cell of a CSV): a national file has
        # hundreds of thousands of cells, and the call per cell was most of its reading time
        cells = [
            (c if c.strip() else None) if type(c) is str else (None if c is None else _cell(c))
            for c in row
        ]
        if not any(c is not None for c in cells):
            vides += 1
            continue
        largeur = len(cells)
        while largeur > len(entete) and cells[largeur - 1] is None:
            largeur -= 1
        lignes.append((cells + [None] * len(entete))[: len(entete)])
        numeros.append(numero)
        largeurs.append(largeur)
    if tronque and lignes and largeurs[-1] < len(entete):
        raise PartnerFileError(
            fichier,
            f"la dernière ligne (ligne {numeros[-1] + header_index + 1} du fichier) n'a que "
            f"{largeurs[-1]} colonnes sur {len(entete)} et le fichier ne finit pas par un saut "
            "de ligne : il semble tronqué, envoyez-le à nouveau en entier.",
        )
    if not lignes:
        raise PartnerFileError(
            fichier,
            f"aucune ligne de données sous l'en-tête (ligne {header_index + 1}) : le fichier "
            "ne contient que des titres.",
        )
    fmt = FileFormat(**{**fmt.__dict__, "ligne_entete": header_index})
    decimale = detect_decimal([c for row in lignes[:500] for c in row])
    fmt = FileFormat(**{**fmt.__dict__, "decimale": decimale})
    return Table(fmt, entete, lignes, numeros, largeurs, vides, doublons)


def _sniff_csv(
    text: str, fichier: str, encodage: str, connues: Collection[str], imposes: dict
) -> Table:
    sep = imposes.get("separateur") or _choose_separator(text, connues, fichier)
    rows = _parse_csv(text, sep, fichier)
    fmt = FileFormat(CSV, encodage, sep, ligne_entete=imposes.get("ligne_entete", 0))
    tronque = not text.endswith(("\n", "\r"))
    return _table(rows, fmt, connues, fichier, tronque)


def _records(data: object) -> list | None:
    """The list of records of a JSON document: a list of objects, or an object holding one."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            return lists[0]
    return None


def profondeur_json(text: str) -> int:
    """The deepest nesting of `[` and `{` in a JSON text (brackets inside strings ignored)."""
    depth = deepest = 0
    for match in _JETONS_JSON.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


_JETONS_JSON = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _entier_json(digits: str) -> int | str:
    """A JSON integer; one too long to be a count stays text (Python refuses > 4300 digits)."""
    return int(digits) if len(digits) <= CHIFFRES_ENTIER_MAX else digits


def _objet_json(paires: list[tuple[str, object]], doublons: list[str]) -> dict:
    """A JSON object; a key given twice is recorded (json keeps the last one silently)."""
    objet = dict(paires)
    if len(objet) < len(paires):
        vues: set[str] = set()
        doublons += [k for k, _ in paires if k in vues or vues.add(k)]
    return objet


def _sniff_json(text: str, fichier: str, encodage: str, connues: Collection[str]) -> Table:
    if (profondeur := profondeur_json(text)) > PROFONDEUR_JSON_MAX:
        raise PartnerFileError(
            fichier,
            f"JSON imbriqué sur {profondeur} niveaux, au-delà de {PROFONDEUR_JSON_MAX} : un "
            "export de données est une liste d'objets (un objet par ligne).",
        )
    doublons: list[str] = []
    try:
        data = json.loads(
            text, parse_int=_entier_json, object_pairs_hook=lambda p: _objet_json(p, doublons)
        )
    except RecursionError:
        raise PartnerFileError(
            fichier, "JSON imbriqué trop profondément : une liste d'objets est attendue."
        ) from None
    except json.JSONDecodeError as error:
        if error.pos >= len(text.rstrip()) - 1:
            raise PartnerFileError(
                fichier,
                f"le JSON s'arrête avant sa fin (ligne {error.lineno}) : il semble tronqué, "
                "envoyez-le à nouveau en entier.",
            ) from None
        raise PartnerFileError(
            fichier, f"JSON invalide ligne {error.lineno}, colonne {error.colno} : {error.msg}."
        ) from None
    if doublons:
        raise PartnerFileError(
            fichier,
            "deux champs portent le même nom dans un objet "
            f"({', '.join(sorted(set(doublons))[:5])}) : une seule valeur serait lue, renommez "
            "ou supprimez l'un des deux.",
        )
    records = _records(data)
    if records is None or not all(isinstance(r, dict) for r in records):
        raise PartnerFileError(
            fichier,
            "disposition non reconnue : le JSON doit être une liste d'objets (un objet par "
            f"ligne), colonnes attendues : {', '.join(sorted(connues)) or '(libres)'}.",
        )
    if not records:
        raise PartnerFileError(fichier, "aucune ligne de données : la liste JSON est vide.")
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    entete = list(keys)
    if len(entete) * len(records) > CELLULES_MAX:
        raise PartnerFileError(fichier, _trop_de_cellules(str(len(entete) * len(records))))
    connues_n = {normalise_nom_colonne(c) for c in connues}
    if connues_n and not _score_entete(entete, connues_n):
        raise PartnerFileError(
            fichier,
            "disposition non reconnue : aucune des colonnes attendues. Attendues : "
            f"{', '.join(sorted(connues))}. Trouvées : {', '.join(entete[:30])}.",
        )
    lignes = [[_cell(r.get(k)) for k in entete] for r in records]
    numeros = list(range(1, len(lignes) + 1))
    decimale = detect_decimal([c for row in lignes[:500] for c in row])
    fmt = FileFormat(JSON, encodage, decimale=decimale)
    return Table(fmt, entete, lignes, numeros, [len(entete)] * len(lignes))


TAILLE_DECOMPRESSEE_MAX = 200 * 1024 * 1024  # a workbook's parts once inflated (zip bombs)


class _TropGros(Exception):
    """A workbook whose declared inflated size is over the limit (raised before inflating)."""


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _colonne(lettres: bytes) -> int:
    n = 0
    for c in lettres.decode():
        n = n * 26 + ord(c) - 64
    return n


def dimension_declaree(archive: zipfile.ZipFile) -> int:
    """The most cells a sheet of the workbook declares (`<dimension ref="A1:XFD1048576">`).

    Read from the first bytes of each sheet part, before openpyxl pads every row to it.
    """
    most = 0
    for info in archive.infolist():
        if not info.filename.startswith("xl/worksheets/") or not info.filename.endswith(".xml"):
            continue
        with archive.open(info) as part:
            head = part.read(4096)
        found = _DIMENSION.search(head)
        if found and found.group(3):
            rows = int(found.group(4)) - int(found.group(2)) + 1
            cols = _colonne(found.group(3)) - _colonne(found.group(1)) + 1
            most = max(most, rows * cols)
    return most


def _sheets(content: bytes, fichier: str) -> dict[str, list[list]]:
    """Every sheet of a workbook as rows of raw cell values (formulas as their text)."""
    import openpyxl  # imported here: only workbooks need it

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            # declared sizes first: zipfile never reads past them, and testzip would inflate
            inflated = sum(info.file_size for info in archive.infolist())
            if inflated > TAILLE_DECOMPRESSEE_MAX:
                raise _TropGros(inflated)
            bad = archive.testzip()
            names = set(archive.namelist())
            if (cellules := dimension_declaree(archive)) > CELLULES_MAX:
                raise PartnerFileError(
                    fichier, _trop_de_cellules(f"une feuille déclare {cellules}")
                )
        if bad is not None or "xl/workbook.xml" not in names:
            raise zipfile.BadZipFile(bad or "not a workbook")
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except PartnerFileError:
        raise
    except _TropGros as error:
        raise PartnerFileError(
            fichier,
            f"classeur refusé : {error.args[0]} octets une fois décompressé, au-delà de la limite "
            f"de {TAILLE_DECOMPRESSEE_MAX} octets ; enregistrez-le en CSV ou découpez-le.",
        ) from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as error:
        raise PartnerFileError(
            fichier,
            f"classeur XLSX illisible ({error}) : il est tronqué ou corrompu, ou ce n'est pas "
            "un classeur ; enregistrez-le à nouveau.",
        ) from None
    try:
        sheets: dict[str, list[list]] = {}
        cellules = 0
        for sheet in book.worksheets:
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()  # rows as written, not padded to a declared size
            rows = sheets.setdefault(sheet.title, [])
            for row in sheet.iter_rows(values_only=True):
                cellules += len(row)
                if cellules > CELLULES_MAX:
                    raise PartnerFileError(fichier, _trop_de_cellules(f"plus de {CELLULES_MAX}"))
                rows.append(list(row))
            largeur = max(map(len, rows), default=0)  # as openpyxl did from the dimension
            if largeur * len(rows) > CELLULES_MAX:
                raise PartnerFileError(fichier, _trop_de_cellules(str(largeur * len(rows))))
            sheets[sheet.title] = [r + [None] * (largeur - len(r)) for r in rows]
        return sheets
    finally:
        book.close()


def _sniff_xlsx(content: bytes, fichier: str, connues: Collection[str], imposes: dict) -> Table:
    sheets = _sheets(content, fichier)
    wanted = imposes.get("feuille")
    if wanted is not None:
        if wanted not in sheets:
            raise PartnerFileError(
                fichier, f"feuille « {wanted} » absente ; feuilles : {', '.join(sheets)}."
            )
        chosen = wanted
    else:
        filled = {name: rows for name, rows in sheets.items() if any(map(any, rows))}
        connues_n = {normalise_nom_colonne(c) for c in connues}
        scores = {
            name: max((_score_entete(r, connues_n) for r in rows[:LIGNES_EXAMINEES]), default=0)
            for name, rows in filled.items()
        }
        best = max(scores.values(), default=0)
        candidates = [n for n, s in scores.items() if s == best]
        if not filled:
            raise PartnerFileError(fichier, "le classeur est vide (aucune feuille remplie).")
        if len(candidates) > 1 and (best > 0 or len(filled) > 1):
            raise PartnerFileError(
                fichier,
                f"plusieurs feuilles conviennent ({', '.join(candidates)}) : laissez une seule "
                "feuille de données dans le classeur.",
            )
        chosen = candidates[0]
    fmt = FileFormat(XLSX, feuille=chosen, ligne_entete=imposes.get("ligne_entete", 0))
    return _table(sheets[chosen], fmt, connues, fichier, tronque=False)


def sniff_table(
    content: bytes,
    fichier: str,
    connues: Collection[str] = (),
    imposes: dict | None = None,
) -> Table:
    """Read a partner file's bytes as a header and rows of strings, whatever its format.

    `connues`: the column names (and aliases) the mapping expects, used to find the header,
    the separator and the sheet. `imposes`: format settings the mapping fixes (`encodage`,
    `separateur`, `feuille`, `ligne_entete`), sniffed otherwise.
    """
    imposes = imposes or {}
    if detect_type(content, fichier) == XLSX:
        return _sniff_xlsx(content, fichier, connues, imposes)
    text, encodage = _decode(content, fichier, imposes.get("encodage"))
    _refuse_html(text, fichier)
    if text.lstrip()[:1] in ("[", "{"):
        return _sniff_json(text, fichier, encodage, connues)
    return _sniff_csv(text, fichier, encodage, connues, imposes)
