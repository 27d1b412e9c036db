"""Cue words of Spanish, French, German and Portuguese replies, by cue kind (the kinds of followup.understanding.cues).

Each entry is a regular expression over lower-cased text. They say how people write to a support desk in that
language; like the English rules, they name no product or brand.
"""
from __future__ import annotations

LEXICONS: dict[str, dict[str, str]] = {
    "es": {
        "turned": r"\b(?:ahora|ya|de nuevo|otra vez|despu[eé]s|luego|finalmente|por fin|hoy)\b",  # the problem itself turned: "pero ahora funciona"
        "phatic": r"\b(?:hola+,? )?(?:qu[eé] tal|c[oó]mo est[aá]s|c[oó]mo est[aá]n|c[oó]mo va(?:s)?)\s*\?",  # a greeting, not a question
        "thanks_for_news": r"\bgracias (?:por|x) (?:la|el|tu|su) (?:info|informaci[oó]n|respuesta|aviso|dato|"
                           r"comentario)\b",
        "partial": r"\b(?:por ahora|de momento|a veces|downgrade|volv[ií] a la versi[oó]n|solo a veces)\b",
        "negation": r"\b(?:no|nunca|ni|tampoco)\s+(?:me |se |le |lo |la |nos |les )?(?:\w+ )?(?:funciona\w*|sirv\w+|"
                    r"carga\w*|abre|abri\w+|lleg\w+|resuelv\w+|resolvi\w+|solucion\w+|arregl\w+|ayud\w+|puedo|"
                    r"podemos|deja\w*|anda|va|recib\w+|aparec\w+|cambi\w+|entr\w+|conect\w+)\b|\bsin (?:funcionar|"
                    r"poder|"
                    r"[eé]xito|resultado|respuesta|soluci[oó]n)\b"
                    r"|\b(?:no|nunca|ni|tampoco)\s+(?:est[aá]|qued[oó]|fue|ha sido) (?:resuelt|solucionad|"
                    r"arreglad)\w*",
        "unresolved": r"\b(?:sigue|siguen|seguimos|sigo|todav[ií]a|a[uú]n|otra vez|de nuevo|el mismo|la misma|"
                      r"igual que antes|sigue igual|persiste\w*|estoy esperando|seguimos esperando|sin respuesta|"
                      r"ninguna respuesta|hace (?:una|\d+|dos|tres|varias) (?:semanas?|d[ií]as|meses))\b",
        "problem": r"\b(?:error(?:es)?|falla\w*|fallo\w*|problemas?|se cuelga|se traba|bloquead[oa]|no aparece|"
                   r"cobr\w+ dos veces|doble cobro|rechaz\w+|roto|rota)\b"
                   r"|\bfalta(?:n)? (?:el|la|los|las|un|una)\b",
        "complaint": r"\b(?:verg[uü]enza|in[uú]til|p[eé]sim[oa]|hart[oa]|horrible|estafa|indignad[oa]|"
                     r"inaceptable|molest[oa]|desastre|rid[ií]cul[oa]|enfadad[oa]|por desgracia|lamentablemente)\b",
        "question": r"\?|^(?:c[oó]mo|cu[aá]ndo|por qu[eé]|qu[eé]|d[oó]nde|cu[aá]l|hay alguna)\b[^.!]*$",
        "request": r"\b(?:por favor|porfa|necesito|necesitamos|podr[ií]an|pueden|podr[ií]as|puedes|me pueden|"
                   r"ay[uú]denme|ayuda|quiero|quisiera|me gustar[ií]a)\b",
        "sent_details": r"\b(?:(?:te|les|os) (?:envi[eé]|mand[eé]|escrib[ií])|adjunto|te adjunto|ya (?:envi[eé]|"
                        r"mand[eé])|mand[eé] (?:un )?(?:correo|mensaje|dm))\b"
                        r"|\b(?:(?:te|les|os|le) (?:he|hemos) (?:enviado|mandado|escrito)|te paso (?:mi|el|la|los)|"
                        r"(?:he|hemos) enviado (?:la|el|un|una))\b",
        "answers_no": r"^(?:no|nop|nada|negativo)\b(?! hay problema| pasa nada| te preocupes)",
        "contrast": r"\b(?:pero|sin embargo|aunque|excepto)\b",
        "fixed": r"\b(?:ya funciona\w*(?: (?:de nuevo|otra vez|bien|perfecto|perfectamente|correctamente))?|"
                 r"funciona(?:ndo)? (?:bien|perfecto|perfectamente|correctamente|de nuevo|"
                 r"otra vez|ahora)|ahora (?:s[ií] )?funciona|funcion[oó]|solucionad[oa]|resuelt[oa]|arreglad[oa]|"
                 r"se (?:arregl[oó]|solucion[oó]|resolvi[oó])|todo (?:bien|correcto|en orden|ok|listo)|"
                 r"ya (?:est[aá]|lleg[oó]|me lleg[oó]|lo recib[ií]|aparece)|problema resuelto|ya qued[oó]|"
                 r"ya pude|pude (?:entrar|acceder|hacerlo)|me lleg[oó]|recib[ií]|(?:ya )?(?:me )?(?:ha|han) cargado|"
                 r"se ha actualizado|ya (?:carga|carg[oó]|aparece|se ve))\b"
                 r"|\b(?:(?:pude|logr[eé]|consegu[ií]|he podido|hemos podido) (?:solucionar|resolver|solventar|"
                 r"arreglar)\w*(?: (?:el|este|ese|mi|la|esta|esa|lo))?(?: (?:problema|error|fallo|tema|"
                 r"inconveniente))?|(?:solucion|resolv|solvent|arregl)\w+ (?:el|este|ese|mi) (?:problema|error|"
                 r"fallo|tema)|(?:problema|error|fallo|tema) (?:ya )?(?:est[aá] |qued[oó] |fue |"
                 r"ha sido )?(?:solucionad|resuelt|arreglad)\w*|todo (?:okey|okay)|(?:de nuevo|"
                 r"otra vez) (?:disponible|accesible|operativ[oa])|ya qued[oó] (?:solucionado|resuelto|listo))\b",
        "good_news": r"\bya no (?:falla|se cuelga|da (?:error|problemas)|aparece|pasa|ocurre|sale)\b|"
                     r"\bno (?:ha )?vuelto a (?:pasar|fallar|ocurrir|salir)\b|\bsin (?:errores|problemas|fallos) "
                     r"desde\b|\bno (?:he )?(?:tenido|visto) (?:m[aá]s )?(?:problemas|errores|fallos)\b",
        "self_blame": r"\b(?:culpa m[ií]a|error m[ií]o|fue mi error|me equivoqu[eé]|no me hab[ií]a dado cuenta|"
                      r"perd[oó]n(?:,)? (?:fue|era) (?:mi|yo)|disculp\w+,? (?:fue|era) mi)\b"
                      r"|\b(?:se me (?:hab[ií]a )?pas(?:[oó]|ado)|no lo hab[ií]a visto|no me hab[ií]a fijado)\b",
        "thanks": r"\b(?:gracias|agradezco|agradecid[oa]|mil gracias|muchas gracias)\b",
        "closure_thanks": r"\bgracias (?:por|x) (?:la|su|tu|vuestra|toda la) (?:ayuda|atenci[oó]n|soluci[oó]n|"
                          r"paciencia)\b",
        "praise": r"\b(?:excelente|genial|perfecto|incre[ií]ble|buen[ií]simo|maravill\w+|estupendo|"
                  r"sois los mejores|son los mejores)\b",
        "plan": r"\b(?:lo (?:probar[eé]|intentar[eé]|pruebo|reviso|miro)|voy a (?:probar|intentar|revisar|mirar|"
                r"hacer|llamar|esperar)|te (?:aviso|cuento|digo)|les (?:aviso|cuento|digo)|os (?:aviso|cuento)|"
                r"luego (?:lo )?pruebo|probar[eé]|intentar[eé]|lo har[eé]|esperar[eé]|ma[nñ]ana (?:lo )?pruebo)\b"
                r"|(?:^|[.!,]\s*)(?:lo )?(?:intento|pruebo|reviso|checo|verifico)\b|\b(?:(?:y|luego) (?:te |"
                r"les )?(?:aviso|cuento)|(?:quedo|quedamos) (?:atent[oa]s?|a la espera|pendientes?)|"
                r"actualizo y (?:te |les )?aviso)\b",
        "weak_ack": r"\b(?:vale|ok|okay|de acuerdo|entendido|entiendo|claro|ah|bueno|listo|perfecto|muy amable|"
                    r"igualmente)\b",
        "answers_yes": r"^(?:s[ií]|claro|efectivamente)\b",
        "detail": r"\b(?:versi[oó]n|actualizaci[oó]n|dispositivo|m[oó]vil|celular|tel[eé]fono|ordenador|"
                  r"computadora|navegador|aplicaci[oó]n|app|cuenta|correo|wifi|reinici\w+|reinstal\w+|"
                  r"borr\w+|captura|pantallazo)\b|\b\d+(?:\.\d+)+\b"
                  r"|\b(?:estoy usando|uso (?:la|el) (?:versi[oó]n|librer[ií]a)|librer[ií]a|branch|rama)\b",
    },
    "fr": {
        "turned": r"\b(?:maintenant|d[eé]sormais|de nouveau|[aà] nouveau|apr[eè]s|depuis|enfin|finalement|aujourd'hui)\b",  # the problem itself turned: "pero ahora funciona"
        "phatic": r"\b(?:[cç]a va|comment (?:[cç]a va|vas-tu|allez-vous))\s*\?",  # a greeting, not a question
        "thanks_for_news": r"\bmerci (?:pour|de|du) (?:l\'info|l\'information|la r[eé]ponse|le retour|votre retour|"
                           r"ton retour|retour)\b",
        "partial": r"\b(?:pour l\'instant|pour le moment|parfois|downgrade|revenu [aà] la version|"
                   r"de temps en temps)\b",
        "negation": r"\b(?:ne|n'|n’)\s*(?:me |se |le |la |l'|nous |m')?(?:\w+ )?(?:marche|fonctionne|charge|"
                    r"arrive|ouvre|r[eé]sout|aide|peux|pouvons|s'affiche|affiche|re[cç]ois|change|"
                    r"connecte)\w*\s+(?:toujours )?(?:pas|plus|jamais|rien)\b|"
                    r"\b(?:pas|rien) (?:chang[eé]|r[eé]solu|r[eé]gl[eé]|march[eé]|fonctionn[eé])\b|"
                    r"\b(?:sans|aucun) (?:succ[eè]s|r[eé]sultat|effet|changement)\b",
        "unresolved": r"\b(?:toujours|encore|de nouveau|[aà] nouveau|le m[eê]me|la m[eê]me|pareil|persiste\w*|"
                      r"j'attends|j’attends|en attente|toujours rien|aucune (?:r[eé]ponse|nouvelle)|"
                      r"depuis (?:une|\d+|deux|trois|plusieurs) (?:semaines?|jours|mois))\b",
        "problem": r"\b(?:erreur|bug|beug|plant\w*|probl[eè]mes?|soucis?|bloqu[eé]e?|impossible|refus[eé]e?|"
                   r"d[eé]bit[eé]e? deux fois|ne s'affiche|cass[eé]e?|(?:pas|plus|aucun) d'acc[eè]s)\b"
                   r"|\b(?:il manque|manque (?:le|la|les|un|une|l')|manquant\w*|(?:pas|plus|aucun) d'acc[eéè]s|"
                   r"(?:n'est|ne sont) (?:pas|plus|toujours pas) (?:accessible|disponible)\w*)"
                   r"|\b(?:pb|autre (?:pb|probl[eè]me|souci|question))\b",
        "complaint": r"\b(?:nul(?:le)?|inadmissible|honteux|honte|ras le bol|marre|inacceptable|scandal\w+|"
                     r"d[eé]cev\w+|d[eé]çu|furieux|agac[eé]|malheureusement|lamentable)\b",
        "question": r"\?|^(?:comment|quand|pourquoi|o[uù]|est-ce que|qu'est-ce|quel(?:le)?s?)\b[^.!]*$",
        "request": r"\b(?:s'il vous pla[iî]t|s’il vous pla[iî]t|svp|stp|pouvez-vous|pourriez-vous|pouvez vous|"
                   r"merci de (?:me|bien)|j'ai besoin|j’ai besoin|aidez|je voudrais|je veux|j'aimerais)\b",
        "sent_details": r"\b(?:je vous ai (?:envoy[eé]|transmis|[eé]crit)|ci-joint|en pi[eè]ce jointe|"
                        r"j'ai (?:envoy[eé]|transmis|joint)|j’ai (?:envoy[eé]|transmis|joint))\b"
                        r"|\b(?:je t'ai (?:envoy[eé]|transmis|[eé]crit)|je viens d'envoyer|"
                        r"je vous ai fait parvenir)\b",
        "answers_no": r"^(?:non|nan|pas vraiment|toujours pas|nope)\b",
        "contrast": r"\b(?:mais|cependant|pourtant|par contre|sauf que|n[eé]anmoins|toutefois)\b",
        "fixed": r"\b(?:[cç]a (?:re)?(?:marche|fonctionne)(?: (?:maintenant|bien|parfaitement|[aà] nouveau|"
                 r"de nouveau|encore))?|fonctionne (?:maintenant|bien|parfaitement|"
                 r"correctement|[aà] nouveau|de nouveau)|marche (?:maintenant|bien|parfaitement|[aà] nouveau)|"
                 r"r[eé]solu(?:e|s)?|r[eé]gl[eé]e?s?|c'est bon|c’est bon|tout est (?:ok|bon|rentr[eé])|"
                 r"tout fonctionne|tout marche|probl[eè]me r[eé]gl[eé]|j'ai (?:bien )?re[cç]u|"
                 r"j’ai (?:bien )?re[cç]u|c'est r[eé]par[eé]|corrig[eé]e?|j'ai pu|j’ai pu)\b"
                 r"|\b(?:c'est re-?bon|(?:re)?devenu ok|(?:de nouveau|[aà] nouveau) (?:accessible|disponible|"
                 r"fonctionnel\w*|op[eé]rationnel\w*)|je mets en (?:termin[eé]|r[eé]solu)|je (?:ferme|cl[oô]s|"
                 r"cl[oô]ture) (?:le ticket|l'issue|le sujet)|tout devrai\w* aller|(?:probl[eè]me|souci|bug|"
                 r"erreur) (?:est |a [eé]t[eé] )?(?:r[eé]solu|r[eé]gl[eé]|corrig[eé])\w*|"
                 r"j'ai (?:pu )?(?:r[eé]soudre|r[eé]gler|corriger) (?:le|ce|mon) (?:probl[eè]me|souci))",
        "good_news": r"\bplus (?:de|d'|d’|aucun\w*) ?(?:erreurs?|probl[eè]mes?|soucis|bugs?|plantages?)\b|"
                     r"\bne (?:plante|bug|beug|crash)e? plus\b|\bn'(?:est|a) plus (?:r[eé]apparu|revenu|plant[eé])\b|"
                     r"\bpas (?:eu|revu) (?:de|d')\s?(?:probl[eè]me|souci|erreur)s? depuis\b",
        "self_blame": r"\b(?:ma faute|mon erreur|au temps pour moi|autant pour moi|je me suis tromp[eé]e?|"
                      r"d[eé]sol[eé]e?,? c'[eé]tait|j'avais mal|j’avais mal|erreur de ma part)\b"
                      r"|\b(?:[cç]a m'avait [eé]chapp[eé]|je n'avais pas vu|je n'avais pas fait attention)\b",
        "thanks": r"\b(?:merci|remercie|remerciements)\b",
        "closure_thanks": r"\bmerci (?:pour|de) (?:votre|ton|l'|cette|toute votre) ?(?:aide|soutien|r[eé]activit[eé]|"
                          r"patience|intervention)\b",
        "praise": r"\b(?:g[eé]nial|parfait|super|excellent|top|impeccable|formidable|vous [eê]tes les meilleurs|"
                  r"nickel|au top)\b",
        "plan": r"\b(?:je vais (?:essayer|tester|regarder|voir|v[eé]rifier|faire|appeler|attendre)|j'essaie|"
                r"j’essaie|je teste|je vous tiens au courant|je vous dirai|je reviens vers vous|"
                r"je (?:testerai|essaierai|regarderai|verrai)|[aà] suivre|je vous redis)\b",
        "weak_ack": r"\b(?:d'accord|d’accord|ok|okay|entendu|compris|ah|bon|tr[eè]s bien|not[eé]|c'est gentil|"
                    r"tr[eè]s gentil)\b",
        "answers_yes": r"^(?:oui|ouais|effectivement|tout à fait)\b",
        "detail": r"\b(?:version|mise [aà] jour|appareil|t[eé]l[eé]phone|portable|ordinateur|navigateur|"
                  r"application|appli|compte|wifi|red[eé]marr\w+|r[eé]install\w+|supprim\w+|capture)\b|"
                  r"\b\d+(?:\.\d+)+\b",
    },
    "de": {
        "turned": r"\b(?:jetzt|nun|wieder|danach|seitdem|endlich|heute|inzwischen|mittlerweile)\b",  # the problem itself turned: "pero ahora funciona"
        "phatic": r"\b(?:wie geht'?s(?: dir| euch| ihnen)?|alles klar bei (?:dir|euch))\s*\?",  # a greeting, not a question
        "thanks_for_news": r"\bdanke (?:f[uü]r|f[uü]r die|f[uü]r deine|f[uü]r ihre) (?:die )?(?:info|infos|antwort|"
                           r"r[uü]ckmeldung|hinweis)\b",
        "partial": r"\b(?:vorerst|erstmal|manchmal|downgrade|zur[uü]ck auf|ab und zu)\b",
        "negation": r"\b(?:funktioniert|geht|klappt|l[aä]dt|[oö]ffnet|hilft|half|kann|k[oö]nnen|kommt|l[aä]sst|"
                    r"startet|verbindet|zeigt|hat)\b(?:\s+\w+){0,2}\s+(?:immer noch |noch immer |leider |weiterhin |"
                    r"trotzdem )?(?:nicht|nie|kein\w*)\b|\b(?:nicht|kein\w*) (?:geholfen|funktioniert|geklappt|"
                    r"gel[oö]st|behoben|ge[aä]ndert|angekommen|erhalten)\b|\bohne erfolg\b",
        "unresolved": r"\b(?:immer noch|noch immer|weiterhin|nach wie vor|schon wieder|wieder (?:ein|der|das|die|"
                      r"den) (?:fehler|problem|absturz)|dasselbe|das gleiche|"
                      r"der gleiche|die gleiche|derselbe|dieselbe|besteht|warte (?:noch|immer)|keine antwort|"
                      r"seit (?:einer|\d+|zwei|drei|mehreren) (?:wochen?|tagen?|monaten?))\b",
        "problem": r"\b(?:fehler\w*|probleme?|absturz|st[uü]rzt\w* ab|abgest[uü]rzt|h[aä]ngt|gesperrt|"
                   r"kaputt|defekt|abgelehnt|doppelt (?:abgebucht|belastet)|unm[oö]glich)\b",
        "complaint": r"\b(?:unversch[aä]mt|frechheit|nutzlos|katastroph\w*|sauer|entt[aä]usch\w*|unzumutbar|"
                     r"[aä]rgerlich|nervig|schlecht|leider|ver[aä]rgert|peinlich|skandal\w*)\b",
        "question": r"\?|^(?:wie|wann|warum|wieso|weshalb|wo|was|welche\w*|gibt es|kann ich|"
                    r"soll ich)\b(?! auch immer)[^.!]*$",
        "request": r"\b(?:bitte|k[oö]nnt ihr|k[oö]nnen sie|k[oö]nntet ihr|k[oö]nnten sie|ich brauche|helft|"
                   r"ich m[oö]chte|ich will|ich h[aä]tte gern)\b",
        "sent_details": r"\b(?:habe (?:ich )?(?:ihnen |euch |dir )?(?:\w+ )?(?:geschickt|gesendet|geschrieben|"
                        r"angeh[aä]ngt)|anbei|im anhang|hab(?:e)? (?:es |die \w+ )?geschickt)\b",
        "answers_no": r"^(?:nein|n[oö]|n[eö]|leider nicht|nicht wirklich|noch nicht)\b",
        "contrast": r"\b(?:aber|jedoch|allerdings|trotzdem|nur dass|au[sß]er)\b",
        "fixed": r"\b(?:(?:funktioniert|geht|klappt|l[aä]uft)(?: es| das| alles| jetzt| nun)* (?:wieder|jetzt|"
                 r"einwandfrei|problemlos|super|perfekt)|"
                 r"jetzt (?:funktioniert|geht|klappt|l[aä]uft)|geht (?:jetzt|wieder)|klappt (?:jetzt|wieder|alles)|"
                 r"l[aä]uft (?:jetzt|wieder)|gel[oö]st|behoben|erledigt|(?:konnte|habe|"
                 r"hab) (?:\w+ ){0,3}(?:beheben|l[oö]sen)|alles (?:gut|ok|okay|klar|bestens|"
                 r"funktioniert)|hat (?:geklappt|funktioniert|geholfen)|angekommen|erhalten|repariert)\b"
                 r"|\b(?:(?:habe|hab) (?:\w+ ){0,4}(?:nun |jetzt )?gefunden)\b"
                 r"|\b(?:(?:funktionier|l[aä]uf)\w* (?:\w+ ){0,3}wieder|wie vorgesehen)\b",
        "good_news": r"\bkein(?:e|en)? (?:fehler|probleme?|abst[uü]rze|aussetzer) mehr\b|"
                     r"\bnicht mehr (?:aufgetreten|abgest[uü]rzt|passiert|vorgekommen|gekommen)\b|"
                     r"\bseitdem (?:keine|nicht|kein)\b|\bst[uü]rzt nicht mehr ab\b",
        "self_blame": r"\b(?:mein fehler|meine schuld|hab(?:e)? mich vertan|[uü]bersehen|falsch verstanden|"
                      r"entschuldigung,? (?:war|hatte)|sorry,? (?:war|hatte) (?:mein|ich))\b"
                      r"|\b(?:hatte ich (?:nicht gesehen|[uü]bersehen)|nicht gesehen)\b",
        "thanks": r"\b(?:danke\w*|dank|bedanke|vielen dank|merci|thx)\b",
        "closure_thanks": r"\bdanke (?:f[uü]r|f[uü]r die|f[uü]r ihre|f[uü]r deine|f[uü]r eure) ?(?:die )?"
                          r"(?:hilfe|unterst[uü]tzung|schnelle (?:hilfe|antwort|l[oö]sung)|m[uü]he|geduld)\b",
        "praise": r"\b(?:super|perfekt|klasse|toll|spitze|gro[sß]artig|prima|top|genial|hervorragend|"
                  r"ihr seid die besten)\b",
        "plan": r"\b(?:ich (?:werde|probiere|teste|schaue|versuche|melde mich|gebe bescheid)|werde (?:es |das )?"
                r"(?:testen|probieren|ausprobieren|versuchen|pr[uü]fen)|melde mich|gebe (?:euch |ihnen )?bescheid|"
                r"probier\w*|teste (?:dann |es |das )?(?:nochmal|noch mal|erneut|morgen|sp[aä]ter|heute)|"
                r"schaue? (?:es |mir das )?(?:morgen|"
                r"sp[aä]ter)|mal sehen)\b",
        "weak_ack": r"\b(?:ok|okay|alles klar|verstanden|ah|gut|in ordnung|alright|aha|jo|na gut|sehr nett|"
                    r"nett von (?:dir|ihnen|euch))\b",
        "answers_yes": r"^(?:ja|jep|jawohl|genau|jo)\b",
        "detail": r"\b(?:version|update|ger[aä]t|handy|telefon|rechner|computer|browser|app|konto|wlan|"
                  r"neu ?gestartet|neu installiert|gel[oö]scht|screenshot)\b|\b\d+(?:\.\d+)+\b",
    },
    "pt": {
        "turned": r"\b(?:agora|j[aá]|de novo|novamente|depois|desde|finalmente|enfim|hoje)\b",  # the problem itself turned: "pero ahora funciona"
        "phatic": r"\b(?:tudo (?:bem|certo|bom|tranquilo|joia)|como (?:vai|est[aá]s?)|beleza)\s*\?",  # a greeting, not a question
        "thanks_for_news": r"\bobrigad[oa] (?:pela|pelo) (?:informa[cç][aã]o|info|resposta|retorno|dica)\b",
        "partial": r"\b(?:por enquanto|[aà]s vezes|downgrade|voltei para a vers[aã]o|de vez em quando)\b",
        "negation": r"\b(?:n[aã]o|nunca|nem)\s+(?:me |se |o |a |nos )?(?:\w+ )?(?:funciona\w*|serv\w+|carreg\w+|"
                    r"abre|abriu|cheg\w+|resolv\w+|ajud\w+|consigo|conseguimos|consegui|deu|d[aá]|recebi|"
                    r"aparec\w+|mud\w+|entr\w+|conect\w+)\b",
        "unresolved": r"\b(?:ainda|continua\w*|de novo|outra vez|novamente|o mesmo|a mesma|persiste\w*|"
                      r"estou esperando|aguardando|sem resposta|nenhuma resposta|"
                      r"h[aá] (?:uma|\d+|duas|tr[eê]s|v[aá]rias) (?:semanas?|dias|meses))\b",
        "problem": r"\b(?:erros?|falh\w+|problemas?|trav\w+|bloquead[oa]|cobrad[oa] duas vezes|cobran[cç]a "
                   r"duplicada|recusad[oa]|quebrad[oa]|bugad[oa]|bug)\b"
                   r"|\bfalta(?:m|va)? (?:o|a|os|as|um|uma)\b"
                   r"|\b(?:rejeitad[oa]s?|rejeitando)\b",
        "complaint": r"\b(?:absurdo|rid[ií]cul[oa]|p[eé]ssim[oa]|vergonha|palha[cç]ada|inaceit[aá]vel|"
                     r"decepcion\w+|irritad[oa]|chatead[oa]|infelizmente|descaso|lament[aá]vel)\b",
        "question": r"\?|^(?:como|quando|por ?que|onde|qual|o que|tem como|posso)\b[^.!]*$",
        "request": r"\b(?:por favor|pfv|pf|preciso|precisamos|podem|poderiam|pode|voc[eê]s podem|ajuda|"
                   r"quero|gostaria)\b",
        "sent_details": r"\b(?:enviei|mandei|segue (?:em )?anexo|em anexo|anexei|j[aá] (?:enviei|mandei))\b"
                        r"|\bsegue (?:o|a|os|as) (?:xml|log|logs|arquivo|arquivos|print|prints|imagem)\b",
        "answers_no": r"^(?:n[aã]o|nops|nada|negativo)\b(?! tem problema| h[aá] problema| se preocupe)",
        "contrast": r"\b(?:mas|por[eé]m|entretanto|contudo|no entanto|exceto)\b",
        "fixed": r"\b(?:(?:j[aá]|agora) (?:est[aá] )?funciona\w*|funcionou|funcionando (?:normalmente|bem|de novo)|"
                 r"resolvid[oa]|resolveu|deu certo|tudo certo|tudo ok|tudo (?:funcionando|resolvido|normal)|"
                 r"consegui|corrigid[oa]|voltou a funcionar|recebi|chegou|j[aá] apareceu)\b"
                 r"|\b(?:(?:problema|erro|falha|rejei[cç][aã]o) (?:j[aá] )?(?:foi |est[aá] |esta )?(?:solucionad|"
                 r"resolvid|corrigid)\w*|(?:resolvi|solucionei|corrigi) (?:o|a|esse|este|essa|meu|"
                 r"minha) (?:problema|erro|rejei[cç][aã]o)|solucionad[oa]|resolveram|(?:novamente|"
                 r"de novo) (?:dispon[ií]vel|acess[ií]vel|funcionando))\b"
                 r"|\bconsegui (?:resolver|solucionar|corrigir)(?: (?:o|a|esse|este|essa|meu|"
                 r"minha))?(?: (?:problema|erro|rejei[cç][aã]o))?",
        "good_news": r"\bn[aã]o (?:deu|apareceu|aconteceu|travou|voltou) mais\b|\bn[aã]o (?:voltou|tornou) a "
                     r"(?:acontecer|travar|falhar|dar erro)\b|\bsem (?:erros|problemas|falhas) desde\b|"
                     r"\bn[aã]o trava mais\b|\bj[aá] n[aã]o (?:trava|falha|d[aá] erro)\b",
        "self_blame": r"\b(?:erro meu|culpa minha|foi mal|me enganei|n[aã]o tinha visto|desculp\w+,? (?:foi|era) "
                      r"(?:meu|minha))\b"
                      r"|\b(?:passou despercebido|n[aã]o tinha reparado|n[aã]o tinha percebido)\b",
        "thanks": r"\b(?:obrigad[oa]s?|agrade[cç]o|valeu|vlw|grato|grata|brigad[oa])\b",
        "closure_thanks": r"\bobrigad[oa] (?:pela|por toda a|pelo) (?:ajuda|aten[cç][aã]o|suporte|paci[eê]ncia|"
                          r"retorno)\b",
        "praise": r"\b(?:[oó]timo|excelente|perfeito|maravilh\w+|show|sensacional|top|incr[ií]vel|"
                  r"voc[eê]s s[aã]o (?:os )?(?:melhores|demais))\b",
        "plan": r"\b(?:vou (?:testar|tentar|verificar|ver|olhar|fazer|ligar|esperar|aguardar)|vou dar uma olhada|"
                r"(?:te|lhe|vos) aviso|aviso (?:voc[eê]s?|aqui)|depois (?:eu )?testo|testarei|tentarei|"
                r"farei|vou experimentar)\b"
                r"|\b(?:aguardo (?:o|a|seu|sua|vosso|retorno|contato|feedback|resposta)|fico no aguardo|"
                r"vou aguardar)\b",
        "weak_ack": r"\b(?:ok|okay|certo|entendi|entendido|beleza|t[aá]|ta bom|t[aá] bom|combinado|ah|blz|"
                    r"muito gentil)\b",
        "answers_yes": r"^(?:sim|claro|isso)\b",
        "detail": r"\b(?:vers[aã]o|atualiza[cç][aã]o|dispositivo|celular|telefone|computador|navegador|"
                  r"aplicativo|app|conta|wifi|reinici\w+|reinstal\w+|apag\w+|print|captura)\b|\b\d+(?:\.\d+)+\b",
    },
}

# Asks to stop being contacted, in each language ("BAJA", "ARRÊT", "STOPP", "PARAR" are also bare keywords).
OPT_OUT_PHRASES: dict[str, str] = {
    "es": r"\bno me (?:escriban|env[ií]en|manden|contacten|llamen) m[aá]s\b|\bdejen de (?:escribirme|enviarme|"
          r"mandarme|contactarme|llamarme)\b|\b(?:darme|dame|denme) de baja\b",
    "fr": r"\bne m['’](?:envoyez|[eé]crivez|contactez|appelez) plus\b|\barr[eê]tez de m['’](?:envoyer|[eé]crire|"
          r"contacter|appeler)\b|\bme d[eé]sabonner\b|\bme d[eé]sinscrire\b",
    "de": r"\b(?:schreibt|schreiben sie|kontaktiert|kontaktieren sie) mir? (?:nicht mehr|nie wieder)\b|"
          r"\bkeine (?:nachrichten|sms|e-?mails|anrufe) mehr\b|\bh[oö]rt auf,? mir zu schreiben\b|"
          r"\bmich (?:abmelden|austragen)\b",
    "pt": r"\bn[aã]o me (?:mandem|enviem|contatem|liguem) mais\b|\bparem de me (?:enviar|mandar|contatar|"
          r"ligar)\b|\bme (?:descadastrar|descadastre)\b|\bsair da lista\b",
}
