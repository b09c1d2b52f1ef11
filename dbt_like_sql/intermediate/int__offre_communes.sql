-- Offre de médiation numérique par commune, pour chaque indicateur d'offre : le nombre de lieux
-- (ou de conseillers) que la source recense dans la commune, si la source couvre la commune,
-- avec la population municipale (COG 2026). Une seule table pour tous les comptes d'offre, que
-- `ind_offre` somme à chaque niveau sur les seules communes couvertes.
-- Chaque compte a la couverture de la source qui le recense partout : la cartographie La Mednum
-- pour tous ses lieux, l'itinérance et Aidants Connect ; le registre national du programme pour
-- France Services (un millésime par liste) et les conseillers numériques ; pour les services,
-- les lieux des registres nationaux font un minimum connu partout, complété par la cartographie
-- là où elle couvre. Les France Services comptent comme lieux d'aide aux démarches (charte
-- France Services). Un lieu fusionné compte la somme de ses conseillers distincts.
WITH criteres_lieux AS (
    SELECT code_commune, 'lieux' AS critere, 1 AS nb
    FROM int__lieux
    UNION ALL
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

-- Les noms des indicateurs sont écrits ici en toutes lettres (une ligne par critère).
criteres AS (
    SELECT critere, indicateur_nombre, indicateur_taux, source
    FROM (
        VALUES
        ('lieux', 'nb_lieux', 'lieux_pour_10k_hab', 'mednum__lieux'),
        (
            'lieux_demarches',
            'nb_lieux_demarches',
            'lieux_demarches_pour_10k_hab',
            'france_services__lieux'
        ),
        (
            'lieux_outils_quotidien',
            'nb_lieux_outils_quotidien',
            'lieux_outils_quotidien_pour_10k_hab',
            'conseillers_numeriques__lieux'
        ),
        (
            'lieux_conseillers_numeriques',
            'nb_lieux_conseillers_numeriques',
            'lieux_conseillers_numeriques_pour_10k_hab',
            'conseillers_numeriques__lieux'
        ),
        (
            'lieux_aidants_connect',
            'nb_lieux_aidants_connect',
            'lieux_aidants_connect_pour_10k_hab',
            'mednum__lieux'
        ),
        ('lieux_itinerants', 'nb_lieux_itinerants', 'lieux_itinerants_pour_10k_hab', 'mednum__lieux'),
        (
            'conseillers_numeriques',
            'nb_conseillers_numeriques',
            'conseillers_numeriques_pour_10k_hab',
            'conseillers_numeriques__lieux'
        )
    ) AS v (critere, indicateur_nombre, indicateur_taux, source)
),

-- France Services à chaque millésime de la liste nationale de l'ANCT (2020 : première vague de
-- labellisation ; 2022 : liste du 1er décembre), pour une série : un critère par millésime, avec
-- son année et sa source ; la population est celle du COG 2026 aux deux dates (le même
-- dénominateur, pour que l'évolution ne mesure que l'offre) ; `definition` dit ce que compte
-- chaque millésime.
millesimes AS (
    SELECT DISTINCT
        'france_services_' || CAST(annee AS VARCHAR) AS critere,
        annee,
        source_millesime,
        definition
    FROM int__france_services_millesimes
),

-- Chaque compte : ses indicateurs, la source qui le couvre, et pour un millésime son année
-- (sinon celle de la couverture de la source) et sa définition.
comptes AS (
    SELECT
        critere,
        indicateur_nombre,
        indicateur_taux,
        source,
        CAST(NULL AS INTEGER) AS annee,
        CAST(NULL AS VARCHAR) AS definition
    FROM criteres
    UNION ALL
    SELECT
        critere,
        'nb_france_services' AS indicateur_nombre,
        'france_services_pour_10k_hab' AS indicateur_taux,
        source_millesime AS source,
        annee,
        definition
    FROM millesimes
),

par_commune AS (
    SELECT code_commune, critere, SUM(nb) AS nb
    FROM criteres_lieux
    GROUP BY code_commune, critere
    UNION ALL
    SELECT
        code_commune,
        'france_services_' || CAST(annee AS VARCHAR) AS critere,
        COUNT(*) AS nb
    FROM int__france_services_millesimes
    GROUP BY annee, code_commune
),

-- Une ligne par commune et compte : partir des comptes et de la couverture de leur source (quatre
-- sources sur toutes celles de la couverture) plutôt que du produit communes × comptes ; même
-- résultat, une jointure de moins sur deux clés texte (1,6 s → 1,2 s à 10 fois la France).
final AS (
    SELECT
        c.code_commune,
        t.population,
        k.indicateur_nombre,
        k.indicateur_taux,
        COALESCE(k.annee, c.annee) AS annee,
        k.definition,
        c.couvert,
        COALESCE(p.nb, 0) AS nb
    FROM comptes AS k
    INNER JOIN int__couverture_sources AS c ON c.source = k.source
    INNER JOIN (
        SELECT code, population FROM int__territoires WHERE niveau = 'commune'
    ) AS t ON t.code = c.code_commune
    LEFT JOIN par_commune AS p
        ON p.code_commune = c.code_commune AND p.critere = k.critere
)

SELECT * FROM final
