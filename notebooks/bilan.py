# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (mutualisation)
#     language: python
#     name: mutualisation
# ---

# %% tags=["parameters"]
# Paramètres du bilan. Dans JupyterLab, modifier ces valeurs puis tout exécuter ;
# `mutualisation report --year AAAA` les remplace (papermill) dans la cellule suivante.
annee = None  # None : dernière année couverte par les données
donnees = "data"  # dossier des tables, relatif à la racine du projet
seuils = [1, 2, 5]  # communes participant à au moins k actions
revisions = []  # chiffres des bilans précédents révisés (calculés par mutualisation report)

# %%
# Altair en premier, depuis la cellule même : cet ordre évite à CPython 3.11 un
# ralentissement de 1,5 s à l'import (voir bench/README.md, « Ordre des imports »).
import altair  # noqa: F401

from mutualisation.compute.bilan import Bilan
from mutualisation.present import bilan_text as texte
from mutualisation.present import moyens_text as moyens_texte
from mutualisation.present import reach_text as portee
from mutualisation.present.figures import bilan_figures
from mutualisation.present.notebook import setup, show, show_table
from mutualisation.present.revisions_text import revisions_text

setup()
bilan = Bilan.build(donnees, annee, seuils)
figures = bilan_figures(bilan)

# %%
show(texte.banner(bilan))
show(f"<h1>{texte.title(bilan)}</h1>")
show(texte.headline(bilan))
show_table(texte.key_figures(bilan), "chiffres-cles", "Chiffres clés")

# %% tags=["optionnel"]
show(revisions_text(revisions))

# %% [markdown]
# ## Les actions du schéma

# %%
show(texte.actions_text(bilan))
show(portee.abandoned_text(bilan))
figures["actions_par_annee"]

# %%
figures["actions_deployees_annee"]

# %%
figures["domaines"]

# %%
figures["participations_par_action"]

# %% tags=["optionnel"]
figures["population_par_action"]

# %% [markdown]
# ## Les communes

# %%
show(texte.communes_text(bilan))
figures["parts_communes"]

# %%
figures["distribution"]

# %%
if "carte" in figures:
    display(figures["carte"])

# %%
figures["taille_communes"]

# %%
figures["matrice"]

# %% tags=["optionnel"]
show(portee.forms_section(bilan))
if bilan.forms is not None:
    show_table(portee.forms_table(bilan), "formes-juridiques", "Actions par forme juridique")
figures["formes_juridiques"]

# %% [markdown]
# ## Adhésions et sorties

# %%
show(texte.changes_text(bilan))

# %% tags=["optionnel"]
if bilan.moyens is not None:  # the optional moyens table: staff and costs
    show(moyens_texte.section(bilan))
    show_table(moyens_texte.key_figures(bilan), "moyens-chiffres-cles",
               "Moyens et coûts : chiffres clés")
    display(figures["moyens_actions"])
    display(figures["moyens_evolution"])
    show_table(moyens_texte.actions_table(bilan), "moyens-actions", "Moyens par action")

# %% [markdown]
# ## Annexe
#
# ### Les données

# %%
show(texte.data_notes(bilan))

# %% [markdown]
# ### Définitions

# %%
show(texte.methods())
