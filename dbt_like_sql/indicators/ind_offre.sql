-- Offre de médiation numérique à chaque niveau territorial : nombre de lieux (ou de
-- conseillers) et le même pour 10 000 habitants, sommés depuis les communes que la source couvre
-- (int__offre_communes), jamais en moyennant des taux. `poids_couvert` / `poids_total` (la
-- population des communes couvertes et de toutes les communes) donnent la part de la
-- population couverte : la règle de couverture commune à tous les indicateurs
-- (`observatory.publish.tables.applique_regle_couverture`) publie la valeur à partir de 99 %.

-- moteur: streaming
-- La jointure communes × territoires (1,9 M lignes en France) est agrégée par lots au lieu
-- d'être tenue entière en mémoire (−0,4 Go au pic d'un run national). Exact : les agrégats
-- sont des sommes d'entiers, des comptes et un MAX, que l'ordre des lignes ne change pas.
-- L'ordre des lignes produites n'est pas garanti (pub_indicateurs les trie par clé).
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

-- Deux lignes par territoire et compte : le nombre, et le même pour 10 000 habitants.
mesures AS (
    SELECT FALSE AS pour_10000
    UNION ALL
    SELECT TRUE AS pour_10000
),

final AS (
    SELECT
        p.niveau,
        p.code,
        CASE WHEN m.pour_10000 THEN p.indicateur_taux ELSE p.indicateur_nombre END AS indicateur,
        p.annee,
        CASE
            WHEN NOT m.pour_10000 THEN CAST(p.nb AS DOUBLE)
            WHEN p.population_couverte > 0
                THEN CAST(p.nb AS DOUBLE) * 10000.0 / p.population_couverte
        END AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        CAST(p.population_couverte AS DOUBLE) AS poids_couvert,
        CAST(p.population AS DOUBLE) AS poids_total,
        p.nb_communes_couvertes,
        p.nb_communes,
        p.definition
    FROM par_territoire AS p
    CROSS JOIN mesures AS m
)

SELECT * FROM final
