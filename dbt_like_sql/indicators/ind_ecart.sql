-- Écart entre besoin et offre : personnes de 15 ans ou plus en situation d'illectronisme
-- (estimation, ind_besoin) par lieu d'aide aux démarches en ligne et par conseiller numérique
-- (ind_offre), à chaque niveau, sommés sur les communes couvertes à la fois par le besoin et
-- par l'offre ; puis, pour les communes, un rang de priorité dans leur département (1 = le plus
-- de besoin pour le moins d'offre) et un indicateur 0/1 du décile national le plus
-- prioritaire. Le score de priorité est besoin / (lieux + 1), pour qu'une commune sans lieu soit
-- classée selon son besoin au lieu d'être indéfinie. Le rang et le décile n'existent qu'à la
-- commune.
WITH besoin AS (
    SELECT code, annee, valeur, nb_communes_couvertes
    FROM ind_besoin
    WHERE niveau = 'commune' AND indicateur = 'nb_illectronisme'
),

lieux AS (
    SELECT code, valeur, nb_communes_couvertes
    FROM ind_offre
    WHERE niveau = 'commune' AND indicateur = 'nb_lieux_demarches'
),

conseillers AS (
    SELECT code, valeur, nb_communes_couvertes
    FROM ind_offre
    WHERE niveau = 'commune' AND indicateur = 'nb_conseillers_numeriques'
),

territoires_communes AS (
    SELECT code, population, code_departement
    FROM int__territoires
    WHERE niveau = 'commune'
),

communes AS (
    SELECT
        b.code AS code_commune,
        b.annee,
        b.valeur AS nb_illectronisme,
        b.nb_communes_couvertes = 1 AS besoin_couvert,
        l.valeur AS nb_lieux,
        l.nb_communes_couvertes = 1 AS lieux_couverts,
        c.valeur AS nb_conseillers,
        c.nb_communes_couvertes = 1 AS conseillers_couverts,
        t.population,
        t.code_departement
    FROM besoin AS b
    INNER JOIN lieux AS l ON l.code = b.code
    INNER JOIN conseillers AS c ON c.code = b.code
    INNER JOIN territoires_communes AS t ON t.code = b.code
),

par_territoire AS (
    SELECT
        a.niveau,
        a.code,
        MAX(c.annee) AS annee,
        SUM(CASE WHEN c.besoin_couvert AND c.lieux_couverts THEN c.nb_illectronisme END)
            AS besoin_lieux,
        SUM(CASE WHEN c.besoin_couvert AND c.lieux_couverts THEN c.nb_lieux END) AS nb_lieux,
        SUM(CASE WHEN c.besoin_couvert AND c.lieux_couverts THEN c.population ELSE 0 END)
            AS population_lieux,
        SUM(CASE WHEN c.besoin_couvert AND c.lieux_couverts THEN 1 ELSE 0 END) AS nb_communes_lieux,
        SUM(CASE WHEN c.besoin_couvert AND c.conseillers_couverts THEN c.nb_illectronisme END)
            AS besoin_conseillers,
        SUM(CASE WHEN c.besoin_couvert AND c.conseillers_couverts THEN c.nb_conseillers END)
            AS nb_conseillers,
        SUM(CASE WHEN c.besoin_couvert AND c.conseillers_couverts THEN c.population ELSE 0 END)
            AS population_conseillers,
        SUM(CASE WHEN c.besoin_couvert AND c.conseillers_couverts THEN 1 ELSE 0 END)
            AS nb_communes_conseillers,
        SUM(c.population) AS population,
        COUNT(*) AS nb_communes
    FROM int__appartenances AS a
    INNER JOIN communes AS c ON c.code_commune = a.code_commune
    GROUP BY a.niveau, a.code
),

prioritaires AS (
    SELECT
        code_commune,
        annee,
        code_departement,
        nb_illectronisme / (nb_lieux + 1.0) AS score_priorite,
        population
    FROM communes
    WHERE besoin_couvert AND lieux_couverts
),

rangs AS (
    SELECT
        code_commune,
        annee,
        population,
        RANK() OVER (PARTITION BY code_departement ORDER BY score_priorite DESC) AS rang_priorite,
        RANK() OVER (ORDER BY score_priorite DESC) AS rang_national,
        COUNT(*) OVER () AS nb_communes
    FROM prioritaires
),

-- Les deux rapports (par lieu, par conseiller), puis les deux classements des communes.
cibles AS (
    SELECT 'illectronisme_par_lieu_demarches' AS indicateur, TRUE AS par_lieu
    UNION ALL
    SELECT 'illectronisme_par_conseiller_numerique' AS indicateur, FALSE AS par_lieu
),

classements AS (
    SELECT 'rang_priorite' AS indicateur
    UNION ALL
    SELECT 'priorite_decile_national' AS indicateur
),

valeurs AS (
    SELECT
        p.niveau,
        p.code,
        k.indicateur,
        p.annee,
        CASE
            WHEN k.par_lieu THEN CASE WHEN p.nb_lieux > 0 THEN p.besoin_lieux / p.nb_lieux END
            WHEN p.nb_conseillers > 0 THEN p.besoin_conseillers / p.nb_conseillers
        END AS valeur,
        CASE WHEN k.par_lieu THEN p.population_lieux ELSE p.population_conseillers END
            AS population_couverte,
        p.population,
        CASE WHEN k.par_lieu THEN p.nb_communes_lieux ELSE p.nb_communes_conseillers END
            AS nb_communes_couvertes,
        p.nb_communes
    FROM par_territoire AS p
    CROSS JOIN cibles AS k
    UNION ALL
    SELECT
        'commune' AS niveau,
        r.code_commune AS code,
        k.indicateur,
        r.annee,
        CASE
            WHEN k.indicateur = 'rang_priorite' THEN CAST(r.rang_priorite AS DOUBLE)
            WHEN r.rang_national * 10 <= r.nb_communes THEN 1.0
            ELSE 0.0
        END AS valeur,
        r.population AS population_couverte,
        r.population,
        1 AS nb_communes_couvertes,
        1 AS nb_communes
    FROM rangs AS r
    CROSS JOIN classements AS k
),

final AS (
    SELECT
        niveau,
        code,
        indicateur,
        annee,
        valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        CAST(population_couverte AS DOUBLE) AS poids_couvert,
        CAST(population AS DOUBLE) AS poids_total,
        nb_communes_couvertes,
        nb_communes
    FROM valeurs
)

SELECT * FROM final
