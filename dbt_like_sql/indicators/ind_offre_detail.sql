-- Offre détaillée : lieux par service du standard (aide aux démarches administratives, maîtrise
-- des outils numériques du quotidien), par programme national (Conseillers numériques, Aidants
-- Connect ; France Services, avec ses millésimes, dans ind_france_services), lieux itinérants
-- comptés à part, et conseillers numériques.
-- Chaque compte a la couverture de la source qui le recense partout : le registre national du
-- programme pour France Services et les conseillers numériques ; pour les services, les lieux des
-- registres nationaux (France Services, conseillers numériques) font un minimum connu partout,
-- complété par la cartographie La Mednum là où elle couvre ; l'itinérance et Aidants Connect ne
-- sont connus que là où la cartographie couvre. Sommés depuis les communes ; pour 10 000
-- habitants à partir des comptes. Les France Services comptent comme lieux d'aide aux démarches
-- (charte France Services).
WITH criteres_lieux AS (
    SELECT code_commune, 'lieux_demarches' AS critere, 1 AS nb
    FROM int__lieux
    WHERE '|' || services || '|' LIKE '%|Aide aux démarches administratives|%'
        OR '|' || dispositif_programmes_nationaux || '|' LIKE '%|France Services|%'
    UNION ALL
    SELECT code_commune, 'lieux_outils_quotidien' AS critere, 1 AS nb
    FROM int__lieux
    WHERE '|' || services || '|' LIKE '%|Maîtrise des outils numériques du quotidien|%'
    UNION ALL
    SELECT code_commune, 'lieux_conseillers_numeriques' AS critere, 1 AS nb
    FROM int__lieux
    WHERE '|' || dispositif_programmes_nationaux || '|' LIKE '%|Conseillers numériques|%'
    UNION ALL
    SELECT code_commune, 'lieux_aidants_connect' AS critere, 1 AS nb
    FROM int__lieux
    WHERE '|' || dispositif_programmes_nationaux || '|' LIKE '%|Aidants Connect|%'
    UNION ALL
    SELECT code_commune, 'lieux_itinerants' AS critere, 1 AS nb
    FROM int__lieux
    WHERE itinerance = 'Itinérant'
    UNION ALL
    SELECT code_commune, 'conseillers_numeriques' AS critere, CAST(nb_conseillers AS BIGINT) AS nb
    FROM int__lieux
    WHERE nb_conseillers IS NOT NULL
),

criteres AS (
    SELECT 'lieux_demarches' AS critere, 'france_services__lieux' AS source
    UNION ALL
    SELECT 'lieux_outils_quotidien' AS critere, 'conseillers_numeriques__lieux' AS source
    UNION ALL
    SELECT 'lieux_conseillers_numeriques' AS critere, 'conseillers_numeriques__lieux' AS source
    UNION ALL
    SELECT 'lieux_aidants_connect' AS critere, 'mednum__lieux' AS source
    UNION ALL
    SELECT 'lieux_itinerants' AS critere, 'mednum__lieux' AS source
    UNION ALL
    SELECT 'conseillers_numeriques' AS critere, 'conseillers_numeriques__lieux' AS source
),

par_commune AS (
    SELECT code_commune, critere, SUM(nb) AS nb
    FROM criteres_lieux
    GROUP BY code_commune, critere
),

communes AS (
    SELECT
        t.code AS code_commune,
        t.population,
        k.critere,
        c.couvert,
        c.annee,
        COALESCE(p.nb, 0) AS nb
    FROM int__territoires AS t
    CROSS JOIN criteres AS k
    INNER JOIN int__couverture_sources AS c
        ON c.code_commune = t.code AND c.source = k.source
    LEFT JOIN par_commune AS p
        ON p.code_commune = t.code AND p.critere = k.critere
    WHERE t.niveau = 'commune'
),

par_territoire AS (
    SELECT
        a.niveau,
        a.code,
        c.critere,
        MAX(c.annee) AS annee,
        SUM(c.nb) AS nb,
        SUM(c.population) AS population,
        MIN(CASE WHEN c.couvert THEN 1 ELSE 0 END) = 1 AS couverture
    FROM int__appartenances AS a
    INNER JOIN communes AS c ON c.code_commune = a.code_commune
    GROUP BY a.niveau, a.code, c.critere
),

final AS (
    SELECT
        niveau,
        code,
        'nb_' || critere AS indicateur,
        annee,
        CASE WHEN couverture THEN CAST(nb AS DOUBLE) END AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        couverture
    FROM par_territoire
    UNION ALL
    SELECT
        niveau,
        code,
        critere || '_pour_10k_hab' AS indicateur,
        annee,
        CASE
            WHEN couverture AND population > 0 THEN CAST(nb AS DOUBLE) * 10000.0 / population
        END AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        couverture
    FROM par_territoire
)

SELECT * FROM final
