-- Accès : distance à vol d'oiseau au lieu d'aide aux démarches en ligne le plus proche et à la
-- France Services la plus proche (int__acces_communes, index spatial en Python), puis à chaque
-- niveau la distance moyenne pondérée par la population et la part de la population au-delà de
-- 10 et 20 km, calculées à partir de sommes. Un territoire sans habitant est pondéré par ses
-- communes ; valeur nulle (couverture fausse) si le statut est inconnu pour plus de 1 % de sa
-- population (communes sans point La Poste).
WITH communes AS (
    SELECT
        a.code_commune,
        a.cible,
        a.statut,
        a.distance_km,
        a.annee,
        t.population,
        1 AS une
    FROM int__acces_communes AS a
    INNER JOIN int__territoires AS t ON t.code = a.code_commune
    WHERE t.niveau = 'commune'
),

sommes AS (
    SELECT
        p.niveau,
        p.code,
        c.cible,
        MAX(c.annee) AS annee,
        SUM(c.population) AS population,
        SUM(CASE WHEN c.distance_km IS NOT NULL THEN c.population ELSE 0 END) AS pop_distance,
        SUM(CASE WHEN c.distance_km IS NOT NULL OR c.statut = 'aucun_lieu_dans_la_zone'
            THEN c.population ELSE 0 END) AS pop_seuils,
        SUM(CASE WHEN c.distance_km IS NOT NULL THEN c.population * c.distance_km ELSE 0 END)
            AS pop_km,
        SUM(CASE WHEN c.distance_km > 10 OR c.statut = 'aucun_lieu_dans_la_zone'
            THEN c.population ELSE 0 END) AS pop_10,
        SUM(CASE WHEN c.distance_km > 20 OR c.statut = 'aucun_lieu_dans_la_zone'
            THEN c.population ELSE 0 END) AS pop_20,
        SUM(c.une) AS nb,
        SUM(CASE WHEN c.distance_km IS NOT NULL THEN 1 ELSE 0 END) AS nb_distance,
        SUM(CASE WHEN c.distance_km IS NOT NULL OR c.statut = 'aucun_lieu_dans_la_zone'
            THEN 1 ELSE 0 END) AS nb_seuils,
        SUM(CASE WHEN c.distance_km IS NOT NULL THEN c.distance_km ELSE 0 END) AS nb_km,
        SUM(CASE WHEN c.distance_km > 10 OR c.statut = 'aucun_lieu_dans_la_zone'
            THEN 1 ELSE 0 END) AS nb_10,
        SUM(CASE WHEN c.distance_km > 20 OR c.statut = 'aucun_lieu_dans_la_zone'
            THEN 1 ELSE 0 END) AS nb_20
    FROM int__appartenances AS p
    INNER JOIN communes AS c ON c.code_commune = p.code_commune
    GROUP BY p.niveau, p.code, c.cible
),

-- Poids : la population, ou les communes pour un territoire sans habitant.
ponderees AS (
    SELECT
        niveau,
        code,
        cible,
        annee,
        CAST(CASE WHEN population > 0 THEN population ELSE nb END AS DOUBLE) AS total,
        CAST(CASE WHEN population > 0 THEN pop_distance ELSE nb_distance END AS DOUBLE)
            AS den_distance,
        CAST(CASE WHEN population > 0 THEN pop_seuils ELSE nb_seuils END AS DOUBLE) AS den_seuils,
        CAST(CASE WHEN population > 0 THEN pop_km ELSE nb_km END AS DOUBLE) AS num_distance,
        CAST(CASE WHEN population > 0 THEN pop_10 ELSE nb_10 END AS DOUBLE) AS num_10,
        CAST(CASE WHEN population > 0 THEN pop_20 ELSE nb_20 END AS DOUBLE) AS num_20
    FROM sommes
),

lignes AS (
    SELECT niveau, code, 'distance_' || cible || '_km' AS indicateur,
        annee, num_distance AS num, den_distance AS den, total
    FROM ponderees
    UNION ALL
    SELECT niveau, code, 'part_pop_' || cible || '_plus_10km' AS indicateur,
        annee, num_10 AS num, den_seuils AS den, total
    FROM ponderees
    UNION ALL
    SELECT niveau, code, 'part_pop_' || cible || '_plus_20km' AS indicateur,
        annee, num_20 AS num, den_seuils AS den, total
    FROM ponderees
),

final AS (
    SELECT
        niveau,
        code,
        indicateur,
        annee,
        CASE WHEN den > 0 AND den >= 0.99 * total THEN num / den END AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        den > 0 AND den >= 0.99 * total AS couverture
    FROM lignes
)

SELECT * FROM final
