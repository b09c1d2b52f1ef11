-- Offre de médiation numérique : nombre de lieux (standard La Mednum) et lieux pour 10 000
-- habitants, à chaque niveau territorial, sommés depuis les communes. Un territoire dont une
-- commune n'est pas couverte par la source a une valeur nulle (couverture fausse), jamais 0.
WITH lieux_par_commune AS (
    SELECT code_commune, COUNT(*) AS nb_lieux
    FROM int__lieux
    GROUP BY code_commune
),

couverture AS (
    SELECT code_commune, couvert, annee
    FROM int__couverture_sources
    WHERE source = 'mednum__lieux'
),

communes AS (
    SELECT
        t.code AS code_commune,
        t.population,
        c.couvert,
        c.annee,
        COALESCE(l.nb_lieux, 0) AS nb_lieux
    FROM int__territoires AS t
    INNER JOIN couverture AS c ON c.code_commune = t.code
    LEFT JOIN lieux_par_commune AS l ON l.code_commune = t.code
    WHERE t.niveau = 'commune'
),

par_territoire AS (
    SELECT
        a.niveau,
        a.code,
        MAX(c.annee) AS annee,
        SUM(c.nb_lieux) AS nb_lieux,
        SUM(c.population) AS population,
        MIN(CASE WHEN c.couvert THEN 1 ELSE 0 END) = 1 AS couverture
    FROM int__appartenances AS a
    INNER JOIN communes AS c ON c.code_commune = a.code_commune
    GROUP BY a.niveau, a.code
),

final AS (
    SELECT
        niveau,
        code,
        'nb_lieux' AS indicateur,
        annee,
        CASE WHEN couverture THEN CAST(nb_lieux AS DOUBLE) END AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        couverture
    FROM par_territoire
    UNION ALL
    SELECT
        niveau,
        code,
        'lieux_pour_10k_hab' AS indicateur,
        annee,
        CASE
            WHEN couverture AND population > 0 THEN CAST(nb_lieux AS DOUBLE) * 10000.0 / population
        END AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        couverture
    FROM par_territoire
)

SELECT * FROM final
