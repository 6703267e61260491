# The report's logistic mixed models, fitted with lme4::glmer (docs/analysis.md, "Mixed model").
#
# Called by analysis/glmm.py as
#   Rscript glmer.R trials.csv models.csv out.csv CORES
# trials.csv: dataset, correct (0/1), participant, image, with_none (0/1), log2_strokes, level
# models.csv: dataset, model, formula, nagq (one row per fit)
# out.csv:    dataset, model, kind, term, estimate, se   (long; kind is fixed, vcov, random,
#             singular, warning, error, seconds)
# Only base R and lme4: nothing else to install (Debian: r-base-core r-cran-lme4).

suppressPackageStartupMessages(library(lme4))

args <- commandArgs(trailingOnly = TRUE)
trials <- read.csv(args[1], stringsAsFactors = FALSE)
models <- read.csv(args[2], stringsAsFactors = FALSE)
cores <- as.integer(args[4])
trials$participant <- factor(trials$participant)
trials$image <- factor(trials$image)
trials$level <- factor(trials$level)
by_dataset <- split(trials, trials$dataset)
# nloptwrap's default tolerances can stop dozens of steps short of the optimum on the
# per-level model (deviance 0.8 above it, estimates off by a tenth of an SE); these reach it.
tolerances <- list(ftol_abs = 1e-10, xtol_abs = 1e-8, maxeval = 1e5)

row <- function(task, kind, term, estimate = NA_real_, se = NA_real_) {
  data.frame(dataset = task$dataset, model = task$model, kind = kind, term = term,
             estimate = estimate, se = se, stringsAsFactors = FALSE)
}

fit_one <- function(i) {
  task <- models[i, ]
  data <- droplevels(by_dataset[[as.character(task$dataset)]])
  messages <- character()
  started <- proc.time()[["elapsed"]]
  fit <- withCallingHandlers(
    tryCatch(
      glmer(as.formula(task$formula), data = data, family = binomial, nAGQ = task$nagq,
            control = glmerControl(optimizer = "nloptwrap", calc.derivs = task$derivs == 1,
                                   optCtrl = tolerances)),
      error = function(e) e
    ),
    warning = function(w) {
      messages <<- c(messages, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  if (inherits(fit, "error")) {
    return(row(task, "error", conditionMessage(fit)))
  }
  messages <- c(messages, fit@optinfo$conv$lme4$messages)
  beta <- fixef(fit)
  covariance <- as.matrix(vcov(fit))
  pairs <- expand.grid(a = names(beta), b = names(beta), stringsAsFactors = FALSE)
  random <- as.data.frame(VarCorr(fit))
  random_terms <- ifelse(is.na(random$var2), paste(random$grp, random$var1, sep = "|"),
                         paste(random$grp, random$var1, random$var2, sep = "|"))
  rbind(
    row(task, "fixed", names(beta), unname(beta), sqrt(diag(covariance))),
    row(task, "vcov", paste(pairs$a, pairs$b, sep = "~"), as.vector(covariance)),
    row(task, "random", random_terms, random$sdcor),
    row(task, "singular", "", as.numeric(isSingular(fit))),
    if (length(messages)) row(task, "warning", unique(messages)),
    row(task, "seconds", "", proc.time()[["elapsed"]] - started)
  )
}

tasks <- seq_len(nrow(models))
results <- if (cores > 1) {
  parallel::mclapply(tasks, fit_one, mc.cores = cores, mc.preschedule = FALSE)
} else {
  lapply(tasks, fit_one)
}
failed <- vapply(results, inherits, logical(1), "try-error")
for (i in which(failed)) {
  results[[i]] <- row(models[i, ], "error", as.character(results[[i]]))
}
write.csv(do.call(rbind, results), args[3], row.names = FALSE)
