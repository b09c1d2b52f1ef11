-- Écart entre besoin et offre : personnes de 15 ans ou plus en situation d'illectronisme
-- (estimation, ind_besoin) par lieu d'aide aux démarches en ligne et par conseiller numérique
-- (ind_offre_detail), à chaque niveau ; puis, pour les communes, un rang de priorité dans leur
-- département (1 = le plus de besoin pour le moins d'offre) et un indicateur 0/1 du décile
-- national le plus prioritaire. Le score de priorité est besoin / (lieux + 1), pour qu'une
-- commune sans lieu soit classée selon son besoin au lieu d'être indéfinie.
WITH besoin AS (
    SELECT niveau, code, annee, valeur AS nb_illectronisme, couverture
    FROM ind_besoin
    WHERE indicateur = 'nb_illectronisme'
),

lieux AS (
    SELECT niveau, code, valeur AS nb_lieux, couverture
    FROM ind_offre_detail
    WHERE indicateur = 'nb_lieux_demarches'
),

conseillers AS (
    SELECT niveau, code, valeur AS nb_conseillers, couverture
    FROM ind_offre_detail
    WHERE indicateur = 'nb_conseillers_numeriques'
),

ecarts AS (
    SELECT
        b.niveau,
        b.code,
        b.annee,
        b.nb_illectronisme,
        l.nb_lieux,
        c.nb_conseillers,
        b.couverture AND l.couverture AS couverture_lieux,
        b.couverture AND c.couverture AS couverture_conseillers
    FROM besoin AS b
    INNER JOIN lieux AS l ON l.niveau = b.niveau AND l.code = b.code
    INNER JOIN conseillers AS c ON c.niveau = b.niveau AND c.code = b.code
),

territoires_communes AS (
    SELECT code, code_departement
    FROM int__territoires
    WHERE niveau = 'commune'
),

communes AS (
    SELECT
        e.code,
        e.annee,
        t.code_departement,
        e.nb_illectronisme / (e.nb_lieux + 1.0) AS score_priorite
    FROM ecarts AS e
    INNER JOIN territoires_communes AS t ON t.code = e.code
    WHERE e.niveau = 'commune' AND e.couverture_lieux
),

rangs AS (
    SELECT
        code,
        annee,
        RANK() OVER (PARTITION BY code_departement ORDER BY score_priorite DESC) AS rang_priorite,
        RANK() OVER (ORDER BY score_priorite DESC) AS rang_national,
        COUNT(*) OVER () AS nb_communes
    FROM communes
),

final AS (
    SELECT
        niveau,
        code,
        'illectronisme_par_lieu_demarches' AS indicateur,
        annee,
        CASE
            WHEN couverture_lieux AND nb_lieux > 0 THEN nb_illectronisme / nb_lieux
        END AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        couverture_lieux AS couverture
    FROM ecarts
    UNION ALL
    SELECT
        niveau,
        code,
        'illectronisme_par_conseiller_numerique' AS indicateur,
        annee,
        CASE
            WHEN couverture_conseillers AND nb_conseillers > 0
                THEN nb_illectronisme / nb_conseillers
        END AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        couverture_conseillers AS couverture
    FROM ecarts
    UNION ALL
    SELECT
        'commune' AS niveau,
        code,
        'rang_priorite' AS indicateur,
        annee,
        CAST(rang_priorite AS DOUBLE) AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        TRUE AS couverture
    FROM rangs
    UNION ALL
    SELECT
        'commune' AS niveau,
        code,
        'priorite_decile_national' AS indicateur,
        annee,
        CASE WHEN rang_national * 10 <= nb_communes THEN 1.0 ELSE 0.0 END AS valeur,
        CAST(NULL AS DOUBLE) AS ic_bas,
        CAST(NULL AS DOUBLE) AS ic_haut,
        FALSE AS secret,
        TRUE AS couverture
    FROM rangs
)

SELECT * FROM final
