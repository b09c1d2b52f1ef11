-- Offre de médiation numérique à chaque niveau territorial : nombre de lieux (ou de
-- conseillers) et le même pour 10 000 habitants, sommés depuis les communes que la source couvre
-- (int__offre_communes), jamais en moyennant des taux. `poids_couvert` / `poids_total` (la
-- population des communes couvertes et de toutes les communes) donnent la part de la
-- population couverte : la règle de couverture commune à tous les indicateurs
-- (`observatory.publish.tables.applique_regle_couverture`) publie la valeur à partir de 99 %.
WITH par_territoire AS (
    SELECT
        a.niveau,
        a.code,
        c.indicateur_nombre,
        c.indicateur_taux,
        c.annee,
        MAX(c.definition) AS definition,
        SUM(CASE WHEN c.couvert THEN c.nb ELSE 0 END) AS nb,
        SUM(CASE WHEN c.couvert THEN c.population ELSE 0 END) AS population_couverte,
        SUM(c.population) AS population,
        SUM(CASE WHEN c.couvert THEN 1 ELSE 0 END) AS nb_communes_couvertes,
        COUNT(*) AS nb_communes
    FROM int__appartenances AS a
    INNER JOIN int__offre_communes AS c ON c.code_commune = a.code_commune
    GROUP BY a.niveau, a.code, c.indicateur_nombre, c.indicateur_taux, c.annee
),

final AS (
    SELECT
        niveau,
        code,
        indicateur_nombre AS indicateur,
        annee,
        CAST(nb AS DOUBLE) AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        CAST(population_couverte AS DOUBLE) AS poids_couvert,
        CAST(population AS DOUBLE) AS poids_total,
        nb_communes_couvertes,
        nb_communes,
        definition
    FROM par_territoire
    UNION ALL
    SELECT
        niveau,
        code,
        indicateur_taux AS indicateur,
        annee,
        CASE
            WHEN population_couverte > 0
                THEN CAST(nb AS DOUBLE) * 10000.0 / population_couverte
        END AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        CAST(population_couverte AS DOUBLE) AS poids_couvert,
        CAST(population AS DOUBLE) AS poids_total,
        nb_communes_couvertes,
        nb_communes,
        definition
    FROM par_territoire
)

SELECT * FROM final
