-- Accès : distance à vol d'oiseau au lieu d'aide aux démarches en ligne le plus proche et à la
-- France Services la plus proche (int__acces_communes, index spatial en Python), puis à chaque
-- niveau la distance moyenne pondérée par la population et la part de la population au-delà de
-- 10 et 20 km, calculées à partir de sommes sur les communes dont la distance est connue (pour
-- les parts, aussi celles sans aucun lieu dans leur zone, au-delà de tout seuil). Un territoire
-- sans habitant est pondéré par ses communes. La part de la population couverte (communes sans
-- point La Poste : distance inconnue) suit la règle commune à tous les indicateurs.
WITH communes AS (
    SELECT
        a.code_commune,
        a.cible,
        a.annee,
        a.distance_km,
        a.distance_km IS NOT NULL AS distance_connue,
        a.distance_km IS NOT NULL OR a.statut = 'aucun_lieu_dans_la_zone' AS seuils_connus,
        a.distance_km > 10 OR a.statut = 'aucun_lieu_dans_la_zone' AS plus_10km,
        a.distance_km > 20 OR a.statut = 'aucun_lieu_dans_la_zone' AS plus_20km,
        t.population
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
        COUNT(*) AS nb,
        SUM(CASE WHEN c.distance_connue THEN c.population ELSE 0 END) AS pop_distance,
        SUM(CASE WHEN c.seuils_connus THEN c.population ELSE 0 END) AS pop_seuils,
        SUM(CASE WHEN c.distance_connue THEN c.population * c.distance_km ELSE 0 END) AS pop_km,
        SUM(CASE WHEN c.plus_10km THEN c.population ELSE 0 END) AS pop_10,
        SUM(CASE WHEN c.plus_20km THEN c.population ELSE 0 END) AS pop_20,
        SUM(CASE WHEN c.distance_connue THEN 1 ELSE 0 END) AS nb_distance,
        SUM(CASE WHEN c.seuils_connus THEN 1 ELSE 0 END) AS nb_seuils,
        SUM(CASE WHEN c.distance_connue THEN c.distance_km ELSE 0 END) AS nb_km,
        SUM(CASE WHEN c.plus_10km THEN 1 ELSE 0 END) AS nb_10,
        SUM(CASE WHEN c.plus_20km THEN 1 ELSE 0 END) AS nb_20
    FROM int__appartenances AS p
    INNER JOIN communes AS c ON c.code_commune = p.code_commune
    GROUP BY p.niveau, p.code, c.cible
),

-- Poids des valeurs : la population, ou les communes pour un territoire sans habitant.
ponderees AS (
    SELECT
        s.*,
        CAST(CASE WHEN population > 0 THEN pop_distance ELSE nb_distance END AS DOUBLE)
            AS den_distance,
        CAST(CASE WHEN population > 0 THEN pop_seuils ELSE nb_seuils END AS DOUBLE) AS den_seuils,
        CAST(CASE WHEN population > 0 THEN pop_km ELSE nb_km END AS DOUBLE) AS num_distance,
        CAST(CASE WHEN population > 0 THEN pop_10 ELSE nb_10 END AS DOUBLE) AS num_10,
        CAST(CASE WHEN population > 0 THEN pop_20 ELSE nb_20 END AS DOUBLE) AS num_20
    FROM sommes AS s
),

-- Trois mesures par cible : distance (communes dont elle est connue), parts au-delà de 10 et
-- 20 km (aussi les communes sans lieu dans leur zone).
mesures AS (
    SELECT niveau, code, cible, annee, 'distance' AS mesure, num_distance AS num,
        den_distance AS den, pop_distance AS pop_couverte, nb_distance AS nb_couvertes,
        population, nb
    FROM ponderees
    UNION ALL
    SELECT niveau, code, cible, annee, 'plus_10km' AS mesure, num_10 AS num, den_seuils AS den,
        pop_seuils AS pop_couverte, nb_seuils AS nb_couvertes, population, nb
    FROM ponderees
    UNION ALL
    SELECT niveau, code, cible, annee, 'plus_20km' AS mesure, num_20 AS num, den_seuils AS den,
        pop_seuils AS pop_couverte, nb_seuils AS nb_couvertes, population, nb
    FROM ponderees
),

-- Les noms des indicateurs : distance_<cible>_km, part_pop_<cible>_plus_10km et _plus_20km.
cibles AS (
    SELECT 'lieu_demarches' AS cible
    UNION ALL
    SELECT 'france_services' AS cible
),

noms AS (
    SELECT
        c.cible,
        m.mesure,
        CASE
            WHEN m.mesure = 'distance' THEN 'distance_' || c.cible || '_km'
            ELSE 'part_pop_' || c.cible || '_' || m.mesure
        END AS indicateur
    FROM cibles AS c
    CROSS JOIN (SELECT DISTINCT mesure FROM mesures) AS m
),

final AS (
    SELECT
        m.niveau,
        m.code,
        n.indicateur,
        m.annee,
        CASE WHEN m.den > 0 THEN m.num / m.den END AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        CAST(m.pop_couverte AS DOUBLE) AS poids_couvert,
        CAST(m.population AS DOUBLE) AS poids_total,
        m.nb_couvertes AS nb_communes_couvertes,
        m.nb AS nb_communes
    FROM mesures AS m
    INNER JOIN noms AS n ON n.cible = m.cible AND n.mesure = m.mesure
)

SELECT * FROM final
