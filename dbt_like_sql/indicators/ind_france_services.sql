-- France Services à chaque millésime de la liste nationale de l'ANCT (2020 : première vague de
-- labellisation ; 2022 : liste du 1er décembre), pour une série dans le temps : nombre de sites
-- (sites principaux et antennes, itinérants compris) et pour 10 000 habitants. Les deux listes
-- sont lues par le même mapping et résolues aux communes du COG 2026 ; la population est la
-- population municipale du COG 2026 pour les deux années (le même dénominateur, pour que
-- l'évolution ne mesure que l'offre). `definition` dit ce que compte chaque millésime : la
-- publication signale une rupture quand elle change d'un millésime au suivant.
WITH millesimes AS (
    SELECT DISTINCT annee, source_millesime, definition
    FROM int__france_services_millesimes
),

par_commune AS (
    SELECT annee, code_commune, COUNT(*) AS nb
    FROM int__france_services_millesimes
    GROUP BY annee, code_commune
),

communes AS (
    SELECT
        t.code AS code_commune,
        t.population,
        m.annee,
        m.definition,
        c.couvert,
        COALESCE(p.nb, 0) AS nb
    FROM int__territoires AS t
    CROSS JOIN millesimes AS m
    INNER JOIN int__couverture_sources AS c
        ON c.code_commune = t.code AND c.source = m.source_millesime
    LEFT JOIN par_commune AS p
        ON p.code_commune = t.code AND p.annee = m.annee
    WHERE t.niveau = 'commune'
),

par_territoire AS (
    SELECT
        a.niveau,
        a.code,
        c.annee,
        MAX(c.definition) AS definition,
        SUM(c.nb) AS nb,
        SUM(c.population) AS population,
        MIN(CASE WHEN c.couvert THEN 1 ELSE 0 END) = 1 AS couverture
    FROM int__appartenances AS a
    INNER JOIN communes AS c ON c.code_commune = a.code_commune
    GROUP BY a.niveau, a.code, c.annee
),

final AS (
    SELECT
        niveau,
        code,
        'nb_france_services' AS indicateur,
        annee,
        CASE WHEN couverture THEN CAST(nb AS DOUBLE) END AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        couverture,
        definition
    FROM par_territoire
    UNION ALL
    SELECT
        niveau,
        code,
        'france_services_pour_10k_hab' AS indicateur,
        annee,
        CASE
            WHEN couverture AND population > 0 THEN CAST(nb AS DOUBLE) * 10000.0 / population
        END AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        couverture,
        definition
    FROM par_territoire
)

SELECT * FROM final
